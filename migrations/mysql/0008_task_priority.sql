-- Priority: 1 (low) to 5 (urgent), or NULL for none. A row another tool
-- writes without it has none; a change another tool makes to it moves
-- update_dt (its ON UPDATE, migration 0003). The idempotency record keeps
-- the created task's priority, so a retried create is answered with it.
-- Appending a nullable column is an instant change on MariaDB 10.3+ and
-- MySQL 8.0, whatever the table's size.
ALTER TABLE task ADD COLUMN priority TINYINT NULL;
ALTER TABLE idempotency_key ADD COLUMN priority TINYINT NULL;
