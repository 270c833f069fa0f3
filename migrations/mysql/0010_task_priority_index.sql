-- `sort=priority`: the priority, then the id, like every other order's
-- index (migration 0009), so that a page is one seek however deep.
CREATE INDEX task_priority_id ON task (priority, id);
