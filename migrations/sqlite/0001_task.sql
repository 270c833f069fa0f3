-- Times are UTC microseconds since the epoch: integers order and compare as instants.
-- AUTOINCREMENT: ids are never reused, so notification history cannot point at the wrong task.
CREATE TABLE task (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL,
    description TEXT    NULL,
    expiry_dt   INTEGER NULL,
    create_dt   INTEGER NOT NULL,
    update_dt   INTEGER NOT NULL
);

CREATE INDEX task_expiry_dt ON task (expiry_dt);
