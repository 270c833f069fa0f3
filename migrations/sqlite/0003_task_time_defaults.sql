-- Rows written by other tools get their times from the database: create_dt
-- and update_dt default to now (UTC microseconds, like every time here), and
-- an update that leaves update_dt as it was moves it forward. taskman always
-- sets both itself, so its own writes keep their exact, monotonic versions.
-- SQLite cannot change a column's default, so the table is rebuilt.
CREATE TABLE task_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL,
    description TEXT    NULL,
    expiry_dt   INTEGER NULL,
    create_dt   INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER)),
    update_dt   INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
);
INSERT INTO task_new (id, title, description, expiry_dt, create_dt, update_dt)
    SELECT id, title, description, expiry_dt, create_dt, update_dt FROM task;
-- Ids are never reused: the new table continues the old one's counter, also
-- past tasks that were deleted.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'task_new', seq FROM sqlite_sequence WHERE name = 'task'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'task_new');
UPDATE sqlite_sequence
    SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'task'), 0))
    WHERE name = 'task_new';
DROP TABLE task;
ALTER TABLE task_new RENAME TO task;
CREATE INDEX task_expiry_dt ON task (expiry_dt);
CREATE INDEX task_update_dt ON task (update_dt);

CREATE TRIGGER task_update_dt_on_change AFTER UPDATE OF title, description, expiry_dt ON task
    WHEN NEW.update_dt = OLD.update_dt
BEGIN
    UPDATE task
        SET update_dt = MAX(CAST(unixepoch('subsec') * 1000000 AS INTEGER), OLD.update_dt + 1)
        WHERE id = NEW.id;
END;
