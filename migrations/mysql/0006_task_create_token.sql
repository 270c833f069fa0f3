-- Each create the service makes carries a token of its own (16 bytes), so
-- that a create whose answer was lost can be sent again and found: a second
-- row with the same token is refused by the unique key. NULL for rows
-- written before this migration, by other tools, or by the original
-- service; a unique key admits any number of NULLs. One statement, so that
-- it cannot take effect in part.
ALTER TABLE task
    ADD COLUMN create_token BINARY(16) NULL,
    ADD UNIQUE KEY task_create_token (create_token);
