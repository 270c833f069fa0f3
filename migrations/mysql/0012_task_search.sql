-- Text search (`q` on GET /v1/tasks): an InnoDB FULLTEXT index, which
-- InnoDB keeps in step with every write, taskman's or another tool's.
--
-- Not over title and description themselves: they are utf8mb4_bin
-- (migration 0001, and adoption), and InnoDB indexes binary text
-- inconsistently (measured on MariaDB 10.11: the index built by ALTER
-- holds words in lower case, rows inserted later keep their case, and a
-- query is not folded, so `rent` missed a new row titled `RENT`). The
-- index reads a stored copy in utf8mb4_unicode_ci instead, which folds
-- case and accents for every row alike; InnoDB cannot index a virtual
-- column with FULLTEXT.
--
-- Adding the first FULLTEXT index and a stored column rebuilds the table
-- (one ALTER: one rebuild), during which writes to it wait. Under Galera
-- this runs as total-order DDL on every node.
ALTER TABLE task
    ADD COLUMN search_text MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci
        AS (CONCAT_WS(' ', title, description)) STORED,
    ADD FULLTEXT INDEX task_search (search_text);
