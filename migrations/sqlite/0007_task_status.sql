-- Completion: `status` is 'open' or 'done', and `completed_dt` (UTC
-- microseconds) says when a task was completed. The default makes a row
-- that another tool inserts naming only its title an open task. Any value
-- but 'done' (trailing spaces aside), such as another tool's 'DONE' or
-- 'closed', is served as open and still warned about: the claim and the
-- pending-expiry queries test `RTRIM(status) <> 'done'`, as the service
-- reads it.
ALTER TABLE task ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE task ADD COLUMN completed_dt INTEGER NULL;

-- A change another tool makes to the new columns moves the version too,
-- as one to the others does (migration 0003).
DROP TRIGGER IF EXISTS task_update_dt_on_change;
CREATE TRIGGER task_update_dt_on_change
    AFTER UPDATE OF title, description, expiry_dt, status, completed_dt ON task
    WHEN NEW.update_dt = OLD.update_dt
BEGIN
    UPDATE task
        SET update_dt = MAX(CAST(unixepoch('subsec') * 1000000 AS INTEGER), OLD.update_dt + 1)
        WHERE id = NEW.id;
END;
