-- Each create the service makes carries a token of its own (16 bytes), so
-- that a create whose answer was lost can be sent again and found: a second
-- row with the same token is refused by the unique index. NULL for rows
-- written before this migration or by other tools; a unique index admits
-- any number of NULLs.
ALTER TABLE task ADD COLUMN create_token BLOB NULL;
CREATE UNIQUE INDEX task_create_token ON task (create_token);
