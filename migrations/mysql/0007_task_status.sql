-- Completion: `status` is 'open' or 'done', and `completed_dt` (UTC) says
-- when a task was completed. The default makes a row that another tool
-- inserts naming only its title an open task. Any value but 'done'
-- (trailing spaces aside), such as another tool's 'DONE' or 'closed', is
-- served as open and still warned about: the claim and the pending-expiry
-- queries test `RTRIM(status) <> 'done'`, as the service reads it. A change
-- another tool makes to either column moves update_dt (its ON UPDATE,
-- migration 0003). One statement, so that it cannot take effect in part;
-- appending columns is an instant change on MariaDB 10.3+ and MySQL 8.0,
-- whatever the table's size.
ALTER TABLE task
    ADD COLUMN status VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'open',
    ADD COLUMN completed_dt DATETIME(6) NULL;
