-- Labels: `labels` is a JSON array of a task's labels as written (NULL or
-- `[]` for none); `label_keys` the JSON array of their keys, the labels in
-- Unicode lowercase, which taskman writes in the same statement. The
-- idempotency record keeps the created task's labels, so a retried create
-- is answered with them.
ALTER TABLE task ADD COLUMN labels TEXT NULL;
ALTER TABLE task ADD COLUMN label_keys TEXT NULL;
ALTER TABLE idempotency_key ADD COLUMN labels TEXT NULL;

-- A task for each label key: what `GET /v1/tasks?label=…` seeks. The
-- triggers below keep it in step with every row, whoever writes it.
CREATE TABLE task_label (
    label_key TEXT    NOT NULL,
    task_id   INTEGER NOT NULL,
    PRIMARY KEY (label_key, task_id)
) WITHOUT ROWID;
-- For the triggers' deletes by task.
CREATE INDEX task_label_task ON task_label (task_id);

-- The keys come from `label_keys` when the statement wrote a JSON array
-- there: on an insert, when it is one; on an update, when it changed (taskman
-- always changes it along with the labels, see store/sql.rs). Otherwise
-- another tool wrote `labels` alone, and the keys are its strings in
-- LOWER(TRIM(…)): SQLite's LOWER folds ASCII letters only, and TRIM removes
-- spaces only, so such a label with other capitals (`Ärger`) is found only
-- by its exact lowercase-ASCII form. Whatever is not a JSON array of
-- strings (bad JSON, a number, an object, an empty string, a key over 255
-- characters) is passed over: another tool's write never fails for it.
-- Each CASE tests one thing at a time, so that json_type never sees bad
-- JSON (it would raise an error).
CREATE TRIGGER task_label_after_insert AFTER INSERT ON task
BEGIN
    INSERT OR IGNORE INTO task_label (label_key, task_id)
        SELECT k.value, NEW.id
        FROM json_each(COALESCE(
            CASE WHEN typeof(NEW.label_keys) = 'text' THEN
                CASE WHEN json_valid(NEW.label_keys) THEN
                    CASE WHEN json_type(NEW.label_keys) = 'array' THEN NEW.label_keys END
                END
            END, '[]')) AS k
        WHERE k.type = 'text' AND k.value <> '' AND length(k.value) <= 255;
    INSERT OR IGNORE INTO task_label (label_key, task_id)
        SELECT LOWER(TRIM(l.value)), NEW.id
        FROM json_each(COALESCE(
            CASE WHEN typeof(NEW.labels) = 'text' THEN
                CASE WHEN json_valid(NEW.labels) THEN
                    CASE WHEN json_type(NEW.labels) = 'array' THEN NEW.labels END
                END
            END, '[]')) AS l
        WHERE l.type = 'text' AND TRIM(l.value) <> '' AND length(TRIM(l.value)) <= 255
        AND NOT COALESCE(
            CASE WHEN typeof(NEW.label_keys) = 'text' THEN
                CASE WHEN json_valid(NEW.label_keys) THEN
                    json_type(NEW.label_keys) = 'array'
                END
            END, 0);
END;

CREATE TRIGGER task_label_after_update AFTER UPDATE OF id, labels, label_keys ON task
    WHEN OLD.labels IS NOT NEW.labels OR OLD.label_keys IS NOT NEW.label_keys
        OR OLD.id IS NOT NEW.id
BEGIN
    DELETE FROM task_label WHERE task_id = OLD.id;
    INSERT OR IGNORE INTO task_label (label_key, task_id)
        SELECT k.value, NEW.id
        FROM json_each(COALESCE(
            CASE WHEN OLD.label_keys IS NOT NEW.label_keys
                AND typeof(NEW.label_keys) = 'text' THEN
                CASE WHEN json_valid(NEW.label_keys) THEN
                    CASE WHEN json_type(NEW.label_keys) = 'array' THEN NEW.label_keys END
                END
            END, '[]')) AS k
        WHERE k.type = 'text' AND k.value <> '' AND length(k.value) <= 255;
    INSERT OR IGNORE INTO task_label (label_key, task_id)
        SELECT LOWER(TRIM(l.value)), NEW.id
        FROM json_each(COALESCE(
            CASE WHEN typeof(NEW.labels) = 'text' THEN
                CASE WHEN json_valid(NEW.labels) THEN
                    CASE WHEN json_type(NEW.labels) = 'array' THEN NEW.labels END
                END
            END, '[]')) AS l
        WHERE l.type = 'text' AND TRIM(l.value) <> '' AND length(TRIM(l.value)) <= 255
        AND NOT COALESCE(
            CASE WHEN OLD.label_keys IS NOT NEW.label_keys
                AND typeof(NEW.label_keys) = 'text' THEN
                CASE WHEN json_valid(NEW.label_keys) THEN
                    json_type(NEW.label_keys) = 'array'
                END
            END, 0);
END;

CREATE TRIGGER task_label_after_delete AFTER DELETE ON task
BEGIN
    DELETE FROM task_label WHERE task_id = OLD.id;
END;

-- A change another tool makes to the labels moves the version too.
DROP TRIGGER IF EXISTS task_update_dt_on_change;
CREATE TRIGGER task_update_dt_on_change
    AFTER UPDATE OF title, description, expiry_dt, status, completed_dt, priority, labels ON task
    WHEN NEW.update_dt = OLD.update_dt
BEGIN
    UPDATE task
        SET update_dt = MAX(CAST(unixepoch('subsec') * 1000000 AS INTEGER), OLD.update_dt + 1)
        WHERE id = NEW.id;
END;
