-- Keyset pages in every order (`sort` on GET /v1/tasks): each sort key's
-- index, with the id after it, so that a page is one seek and a walk of
-- the index in either direction, however deep. The key-only indexes on
-- expiry_dt and update_dt (migrations 0001 and 0002) give way to these,
-- which serve everything they served.
--
-- No index leads with status: there are two, each usually a large share
-- of the tasks, and walking an order's index past the other status costs
-- a page about limit ÷ share rows, still flat in depth; a (status, …)
-- index per order would double these, each moved by every completion.
CREATE INDEX task_expiry_id ON task (expiry_dt, id);
CREATE INDEX task_update_id ON task (update_dt, id);
CREATE INDEX task_create_id ON task (create_dt, id);
DROP INDEX IF EXISTS task_expiry_dt;
DROP INDEX IF EXISTS task_update_dt;
