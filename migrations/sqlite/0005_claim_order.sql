-- Every claim of a warning updates this one row first, in the transaction
-- that inserts its notifications. SQLite has one writer, so claims commit
-- one after another anyway; the row keeps the claim's SQL the same on both
-- backends (see migrations/mysql/0005_claim_order.sql for why it matters
-- there): notification ids become visible in increasing order.
CREATE TABLE IF NOT EXISTS claim_order (
    id     INTEGER NOT NULL PRIMARY KEY,
    claims INTEGER NOT NULL
);
INSERT OR IGNORE INTO claim_order (id, claims) VALUES (1, 0);
