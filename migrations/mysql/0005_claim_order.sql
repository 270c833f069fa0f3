-- Every claim of a warning updates this one row first, in the transaction
-- that inserts its notifications, and so holds the row's lock until it
-- commits (on Galera, two claims that touch it on different nodes cannot
-- both be certified). Claims therefore commit one after another, and
-- notification ids become visible in increasing order: a reader that has
-- seen id N will never later find a new id below N. Live event streams
-- follow the history by id and rely on it.
CREATE TABLE IF NOT EXISTS claim_order (
    id     INT    NOT NULL,
    claims BIGINT NOT NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB;
INSERT IGNORE INTO claim_order (id, claims) VALUES (1, 0);
