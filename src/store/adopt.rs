//! Adopting the database of the service taskman replaces: a MySQL `task`
//! table made by the original (no record of taskman's first migration), upgraded in place
//! without losing a row or changing an id.
//!
//! The original's table: `id BIGINT AUTO_INCREMENT PRIMARY KEY,
//! title VARCHAR(50) NULL, description TEXT NULL, expiry_dt DATETIME(6) NULL,
//! create_dt DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
//! update_dt DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE …`.
//! Adopting brings it to what migration 1 creates (keeping `title`
//! nullable, as legacy rows may have none), records migration 1 as applied,
//! and leaves the rest to the ordinary migrations. Every step can run
//! again, so an adoption cut short is finished by the next start.

use anyhow::Context;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Executor};

use super::migrate::MIGRATIONS_TABLE;

const EXPECTED_COLUMNS: [&str; 6] = [
    "create_dt",
    "description",
    "expiry_dt",
    "id",
    "title",
    "update_dt",
];

/// The steps, in order; each is safe to repeat.
const UPGRADE: [&str; 2] = [
    // utf8mb4 holds every title the API accepts (emoji included).
    "ALTER TABLE task CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    "ALTER TABLE task \
         MODIFY id BIGINT NOT NULL AUTO_INCREMENT, \
         MODIFY title VARCHAR(255) NULL, \
         MODIFY description TEXT NULL, \
         MODIFY expiry_dt DATETIME(6) NULL, \
         MODIFY create_dt DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), \
         MODIFY update_dt DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) \
             ON UPDATE CURRENT_TIMESTAMP(6), \
         ENGINE = InnoDB",
];

/// Upgrades the original's `task` table if this database has one and no
/// record of migration 1; returns whether it did.
pub async fn adopt_legacy_table(
    conn: &mut MySqlConnection,
    migrator: &Migrator,
) -> anyhow::Result<bool> {
    if !table_exists(conn, "task").await? || first_migration_recorded(conn).await? {
        return Ok(false);
    }
    let columns = task_columns(conn).await?;
    anyhow::ensure!(
        columns == EXPECTED_COLUMNS,
        "this database has a `task` table but no taskman migration history, and its columns \
         ({}) are not those of the original service's table ({}). taskman leaves it alone: \
         point DATABASE_URL at another database, or rename that table",
        columns.join(", "),
        EXPECTED_COLUMNS.join(", ")
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM task")
        .fetch_one(&mut *conn)
        .await?;
    tracing::info!(
        rows,
        "adopting the existing task table of the original service: utf8mb4, title widened \
         to 255 characters, database-side defaults for create_dt and update_dt"
    );
    // Legacy rows may hold zero dates, which a strict sql_mode refuses to
    // copy; the adoption keeps every row as it is.
    conn.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'")
        .await?;
    for step in UPGRADE {
        conn.execute(step)
            .await
            .with_context(|| format!("cannot adopt the existing task table: {step}"))?;
    }
    if !index_exists(conn, "task", "task_expiry_dt").await? {
        conn.execute("CREATE INDEX task_expiry_dt ON task (expiry_dt)")
            .await
            .context("cannot adopt the existing task table: CREATE INDEX task_expiry_dt")?;
    }
    conn.execute("SET SESSION sql_mode = DEFAULT").await?;
    record_first_migration(conn, migrator).await?;
    tracing::info!(rows, "adopted the existing task table; migrations follow");
    Ok(true)
}

/// Whether `task` is the original service's table (or one adopted from
/// it): its columns, with a nullable title. Migration 1's own table has a
/// NOT NULL title, and must never be taken for it.
pub async fn is_original_table(conn: &mut MySqlConnection) -> anyhow::Result<bool> {
    if task_columns(conn).await? != EXPECTED_COLUMNS {
        return Ok(false);
    }
    let nullable: String = sqlx::query_scalar(
        "SELECT CAST(is_nullable AS CHAR) FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = 'task' AND column_name = 'title'",
    )
    .fetch_one(&mut *conn)
    .await
    .context("cannot read the task table's title column")?;
    Ok(nullable == "YES")
}

async fn task_columns(conn: &mut MySqlConnection) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT LOWER(column_name) FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = 'task' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .context("cannot read the existing task table's columns")
}

/// Records migration 1 (the `task` table) as applied, exactly as sqlx
/// records one, so that the migrator goes on from migration 2.
async fn record_first_migration(
    conn: &mut MySqlConnection,
    migrator: &Migrator,
) -> anyhow::Result<()> {
    let first = migrator
        .iter()
        .find(|migration| migration.version == 1)
        .context("migration 1 is missing from this build")?;
    conn.ensure_migrations_table(MIGRATIONS_TABLE).await?;
    let insert = format!(
        "INSERT IGNORE INTO {MIGRATIONS_TABLE} (version, description, success, checksum, execution_time) \
         VALUES (?, ?, TRUE, ?, 0)"
    );
    sqlx::query(AssertSqlSafe(insert))
        .bind(first.version)
        .bind(first.description.as_ref())
        .bind(first.checksum.as_ref())
        .execute(&mut *conn)
        .await
        .context("cannot record the adopted table as migration 1")?;
    Ok(())
}

/// An empty history (a start that failed before recording anything, or
/// the failed row of migration 1 removed as the error message says) must
/// not stop adoption: the migrator would run `CREATE TABLE task` on the
/// original's table again, and fail again.
async fn first_migration_recorded(conn: &mut MySqlConnection) -> anyhow::Result<bool> {
    if !table_exists(conn, MIGRATIONS_TABLE).await? {
        return Ok(false);
    }
    let found: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {MIGRATIONS_TABLE} WHERE version = 1"
    )))
    .fetch_one(&mut *conn)
    .await
    .context("cannot read the migration history")?;
    Ok(found > 0)
}

async fn table_exists(conn: &mut MySqlConnection, table: &str) -> anyhow::Result<bool> {
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name = ?",
    )
    .bind(table)
    .fetch_one(&mut *conn)
    .await
    .with_context(|| format!("cannot look for table {table}"))?;
    Ok(found > 0)
}

/// Whether `table` has an index named `index` (also for the failed-migration check).
pub(super) async fn index_exists(
    conn: &mut MySqlConnection,
    table: &str,
    index: &str,
) -> sqlx::Result<bool> {
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.statistics \
         WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?",
    )
    .bind(table)
    .bind(index)
    .fetch_one(&mut *conn)
    .await?;
    Ok(found > 0)
}
