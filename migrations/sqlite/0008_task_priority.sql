-- Priority: 1 (low) to 5 (urgent), or NULL for none. A row another tool
-- writes without it has none. The idempotency record keeps the created
-- task's priority, so a retried create is answered with it.
ALTER TABLE task ADD COLUMN priority INTEGER NULL;
ALTER TABLE idempotency_key ADD COLUMN priority INTEGER NULL;

-- A change another tool makes to the priority moves the version too.
DROP TRIGGER IF EXISTS task_update_dt_on_change;
CREATE TRIGGER task_update_dt_on_change
    AFTER UPDATE OF title, description, expiry_dt, status, completed_dt, priority ON task
    WHEN NEW.update_dt = OLD.update_dt
BEGIN
    UPDATE task
        SET update_dt = MAX(CAST(unixepoch('subsec') * 1000000 AS INTEGER), OLD.update_dt + 1)
        WHERE id = NEW.id;
END;
