-- Every expiry warning produced, once: the unique key on (task_id, expiry_dt) is the claim.
-- No foreign key: the history outlives the task.
CREATE TABLE notification (
    id                BIGINT       NOT NULL AUTO_INCREMENT,
    task_id           BIGINT       NOT NULL,
    title             VARCHAR(255) NOT NULL,
    kind              VARCHAR(16)  NOT NULL,
    expiry_dt         DATETIME(6)  NOT NULL,
    notified_at       DATETIME(6)  NOT NULL,
    late              BOOLEAN      NOT NULL,
    delivery_state    VARCHAR(16)  NOT NULL,
    delivery_attempts INT          NOT NULL DEFAULT 0,
    next_attempt_at   DATETIME(6)  NULL,
    last_error        TEXT         NULL,
    delivered_at      DATETIME(6)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY notification_claim (task_id, expiry_dt),
    KEY notification_delivery (delivery_state, next_attempt_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The reconcile job picks up tasks changed since its last run.
CREATE INDEX task_update_dt ON task (update_dt);
