-- Labels: `labels` is a JSON array of a task's labels as written (NULL or
-- `[]` for none); `label_keys` the JSON array of their keys, the labels in
-- Unicode lowercase, which taskman writes in the same statement. Plain
-- TEXT, not JSON with its CHECK: another tool's bad JSON must not make its
-- write fail (taskman reads it as no labels). Binary collation, so that
-- the triggers' comparisons see every change of case. The idempotency
-- record keeps the created task's labels, so a retried create is answered
-- with them. A change another tool makes to the labels moves update_dt
-- (its ON UPDATE, migration 0003). Appending nullable columns is an
-- instant change on MariaDB 10.3+ and MySQL 8.0, whatever the table's size.
ALTER TABLE task
    ADD COLUMN labels TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    ADD COLUMN label_keys TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;
ALTER TABLE idempotency_key
    ADD COLUMN labels TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;

-- A task for each label key: what `GET /v1/tasks?label=…` seeks. Keys are
-- compared byte for byte (utf8mb4_bin): they are already lowercase, and a
-- `_ci` collation would take `a` and `ä` for one key. The triggers below
-- keep it in step with every row, whoever writes it.
CREATE TABLE IF NOT EXISTS task_label (
    label_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    task_id   BIGINT NOT NULL,
    PRIMARY KEY (label_key, task_id),
    KEY task_label_task (task_id)
) ENGINE = InnoDB;

-- The keys come from `label_keys` when the statement wrote a JSON array
-- there: on an insert, when it is one; on an update, when it changed (taskman
-- always changes it along with the labels, see store/sql.rs). Otherwise
-- another tool wrote `labels` alone, and the keys are its strings in
-- LOWER(TRIM(…)) (TRIM removes spaces only). Whatever is not a JSON array
-- of strings (bad JSON, a number, an object, an empty string, a key over
-- 255 characters) is passed over: another tool's write never fails for it.
-- Each CASE tests one thing at a time, so that JSON_TYPE and JSON_TABLE
-- never see bad JSON. INSERT IGNORE: a label twice is one row.
DROP TRIGGER IF EXISTS task_label_after_insert;
CREATE TRIGGER task_label_after_insert AFTER INSERT ON task FOR EACH ROW
BEGIN
    DECLARE key_list LONGTEXT DEFAULT
        CASE WHEN JSON_VALID(NEW.label_keys) THEN
            CASE WHEN JSON_TYPE(NEW.label_keys) = 'ARRAY' THEN NEW.label_keys END
        END;
    DECLARE label_list LONGTEXT DEFAULT
        CASE WHEN JSON_VALID(NEW.labels) THEN
            CASE WHEN JSON_TYPE(NEW.labels) = 'ARRAY' THEN NEW.labels END
        END;
    IF key_list IS NOT NULL THEN
        INSERT IGNORE INTO task_label (label_key, task_id)
            SELECT jt.v, NEW.id
            FROM JSON_TABLE(key_list, '$[*]'
                COLUMNS (item JSON PATH '$', v LONGTEXT PATH '$')) AS jt
            WHERE JSON_TYPE(jt.item) = 'STRING' AND jt.v <> ''
                AND CHAR_LENGTH(jt.v) <= 255;
    ELSEIF label_list IS NOT NULL THEN
        INSERT IGNORE INTO task_label (label_key, task_id)
            SELECT LOWER(TRIM(jt.v)), NEW.id
            FROM JSON_TABLE(label_list, '$[*]'
                COLUMNS (item JSON PATH '$', v LONGTEXT PATH '$')) AS jt
            WHERE JSON_TYPE(jt.item) = 'STRING' AND TRIM(jt.v) <> ''
                AND CHAR_LENGTH(TRIM(jt.v)) <= 255;
    END IF;
END;

DROP TRIGGER IF EXISTS task_label_after_update;
CREATE TRIGGER task_label_after_update AFTER UPDATE ON task FOR EACH ROW
BEGIN
    DECLARE key_list LONGTEXT DEFAULT
        CASE WHEN NOT (OLD.label_keys <=> NEW.label_keys) THEN
            CASE WHEN JSON_VALID(NEW.label_keys) THEN
                CASE WHEN JSON_TYPE(NEW.label_keys) = 'ARRAY' THEN NEW.label_keys END
            END
        END;
    DECLARE label_list LONGTEXT DEFAULT
        CASE WHEN JSON_VALID(NEW.labels) THEN
            CASE WHEN JSON_TYPE(NEW.labels) = 'ARRAY' THEN NEW.labels END
        END;
    IF NOT (OLD.labels <=> NEW.labels) OR NOT (OLD.label_keys <=> NEW.label_keys)
        OR OLD.id <> NEW.id THEN
        DELETE FROM task_label WHERE task_id = OLD.id;
        IF key_list IS NOT NULL THEN
            INSERT IGNORE INTO task_label (label_key, task_id)
                SELECT jt.v, NEW.id
                FROM JSON_TABLE(key_list, '$[*]'
                    COLUMNS (item JSON PATH '$', v LONGTEXT PATH '$')) AS jt
                WHERE JSON_TYPE(jt.item) = 'STRING' AND jt.v <> ''
                    AND CHAR_LENGTH(jt.v) <= 255;
        ELSEIF label_list IS NOT NULL THEN
            INSERT IGNORE INTO task_label (label_key, task_id)
                SELECT LOWER(TRIM(jt.v)), NEW.id
                FROM JSON_TABLE(label_list, '$[*]'
                    COLUMNS (item JSON PATH '$', v LONGTEXT PATH '$')) AS jt
                WHERE JSON_TYPE(jt.item) = 'STRING' AND TRIM(jt.v) <> ''
                    AND CHAR_LENGTH(TRIM(jt.v)) <= 255;
        END IF;
    END IF;
END;

DROP TRIGGER IF EXISTS task_label_after_delete;
CREATE TRIGGER task_label_after_delete AFTER DELETE ON task FOR EACH ROW
BEGIN
    DELETE FROM task_label WHERE task_id = OLD.id;
END;
