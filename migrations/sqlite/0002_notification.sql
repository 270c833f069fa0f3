-- Every expiry warning produced, once: the unique key on (task_id, expiry_dt) is the claim.
-- No foreign key: the history outlives the task.
CREATE TABLE notification (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id           INTEGER NOT NULL,
    title             TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    expiry_dt         INTEGER NOT NULL,
    notified_at       INTEGER NOT NULL,
    late              INTEGER NOT NULL,
    delivery_state    TEXT    NOT NULL,
    delivery_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NULL,
    last_error        TEXT    NULL,
    delivered_at      INTEGER NULL,
    UNIQUE (task_id, expiry_dt)
);

CREATE INDEX notification_delivery ON notification (delivery_state, next_attempt_at);

-- The reconcile job picks up tasks changed since its last run.
CREATE INDEX task_update_dt ON task (update_dt);
