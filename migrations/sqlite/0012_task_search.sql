-- Text search (`q` on GET /v1/tasks): an FTS5 index of title and
-- description that reads its text from `task` itself (external content:
-- nothing is stored twice but the index). The triggers keep it in step
-- with every write, taskman's or another tool's; `rebuild` fills it from
-- the rows already there.
--
-- unicode61 folds case; `remove_diacritics 2` folds accents too, as
-- MySQL's utf8mb4_unicode_ci does (migration 0012 there); `_` is part of
-- a word, as it is for InnoDB. The API splits a query into words by the
-- same rule (domain/search.rs).
CREATE VIRTUAL TABLE task_fts USING fts5(
    title,
    description,
    content = 'task',
    content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_'"
);

CREATE TRIGGER task_fts_after_insert AFTER INSERT ON task
BEGIN
    INSERT INTO task_fts (rowid, title, description)
        VALUES (NEW.id, NEW.title, NEW.description);
END;

-- An external-content index forgets a row by being told its old text.
CREATE TRIGGER task_fts_after_delete AFTER DELETE ON task
BEGIN
    INSERT INTO task_fts (task_fts, rowid, title, description)
        VALUES ('delete', OLD.id, OLD.title, OLD.description);
END;

-- Only a change to the text (or the id) touches the index: completing a
-- task or moving its expiry does not.
CREATE TRIGGER task_fts_after_update AFTER UPDATE OF id, title, description ON task
BEGIN
    INSERT INTO task_fts (task_fts, rowid, title, description)
        VALUES ('delete', OLD.id, OLD.title, OLD.description);
    INSERT INTO task_fts (rowid, title, description)
        VALUES (NEW.id, NEW.title, NEW.description);
END;

INSERT INTO task_fts (task_fts) VALUES ('rebuild');
