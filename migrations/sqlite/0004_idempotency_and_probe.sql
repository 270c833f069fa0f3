-- Idempotent creates: a key names one create; a retry with the same key and
-- the same content answers the task the first request created (kept here as
-- it was then), until the key expires.
CREATE TABLE idempotency_key (
    idem_key    TEXT    NOT NULL PRIMARY KEY,
    fingerprint TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    task_id     INTEGER NULL,
    title       TEXT    NULL,
    description TEXT    NULL,
    expiry_dt   INTEGER NULL,
    create_dt   INTEGER NULL
);
CREATE INDEX idempotency_key_expires_at ON idempotency_key (expires_at);

-- One row the health check rewrites to learn whether the database can write.
CREATE TABLE write_probe (
    id        INTEGER NOT NULL PRIMARY KEY,
    probed_at INTEGER NOT NULL
);
INSERT INTO write_probe (id, probed_at) VALUES (1, 0);

-- A task's warnings by id, for keyset pages of its history.
CREATE INDEX notification_task_id ON notification (task_id, id);
