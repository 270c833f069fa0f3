-- Keyset pages in every order (`sort` on GET /v1/tasks): each sort key's
-- index, with the id after it, so that a page is one range seek and a
-- walk of the index in either direction, however deep (InnoDB appends the
-- primary key to a secondary index anyway; naming it makes the ranges on
-- `key = ? AND id > ?` independent of the optimizer's index extensions).
-- The key-only indexes on expiry_dt and update_dt (migrations 0001 and
-- 0002) give way to these, which serve everything they served.
--
-- No index leads with status: there are two, each usually a large share
-- of the tasks, and walking an order's index past the other status costs
-- a page about limit ÷ share rows, still flat in depth; a (status, …)
-- index per order would double these, each moved by every completion.
--
-- One statement, so that it cannot take effect in part.
ALTER TABLE task
    ADD INDEX task_expiry_id (expiry_dt, id),
    ADD INDEX task_update_id (update_dt, id),
    ADD INDEX task_create_id (create_dt, id),
    DROP INDEX task_expiry_dt,
    DROP INDEX task_update_dt;
