-- Times are UTC in DATETIME(6); the service truncates to microseconds before writing.
CREATE TABLE task (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    title       VARCHAR(255) NOT NULL,
    description TEXT         NULL,
    expiry_dt   DATETIME(6)  NULL,
    create_dt   DATETIME(6)  NOT NULL,
    update_dt   DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY task_expiry_dt (expiry_dt)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
