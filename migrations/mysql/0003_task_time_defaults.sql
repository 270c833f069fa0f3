-- Rows written by other tools get their times from the database, as in the
-- service this one replaces: create_dt when inserted, update_dt whenever a
-- row changes without naming update_dt. taskman always names both, so its
-- own writes keep their exact, monotonic versions. Safe to run again.
ALTER TABLE task
    MODIFY create_dt DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    MODIFY update_dt DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6);
