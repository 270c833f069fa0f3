-- Idempotent creates: a key names one create; a retry with the same key and
-- the same content answers the task the first request created (kept here as
-- it was then), until the key expires.
CREATE TABLE IF NOT EXISTS idempotency_key (
    idem_key    VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    fingerprint CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    task_id     BIGINT       NULL,
    title       VARCHAR(255) NULL,
    description TEXT         NULL,
    expiry_dt   DATETIME(6)  NULL,
    create_dt   DATETIME(6)  NULL,
    PRIMARY KEY (idem_key),
    KEY idempotency_key_expires_at (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row the health check rewrites to learn whether the database can write.
CREATE TABLE IF NOT EXISTS write_probe (
    id        INT         NOT NULL,
    probed_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB;
INSERT IGNORE INTO write_probe (id, probed_at) VALUES (1, '2000-01-01 00:00:00');

-- A task's warnings by id, for keyset pages of its history.
CREATE INDEX notification_task_id ON notification (task_id, id);
