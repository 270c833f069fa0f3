//! Applies the MySQL migrations. A migration recorded as failed is checked
//! against the schema (information_schema), and the advice printed fits
//! what it left: MySQL commits before every DDL statement, so a migration
//! can fail after some or all of its changes are in, and the history alone
//! cannot tell.

use anyhow::anyhow;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::mysql::MySqlConnection;

use super::adopt;
use super::migrate::{MIGRATIONS_TABLE, explain};

/// What one migration changes, as information_schema shows it.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// A table with (at least) these columns.
    Table(&'static str, &'static [&'static str]),
    Index(&'static str, &'static str),
    /// An index a later migration replaced (0009: the key and the id in
    /// place of the key alone): either the first or the second will do.
    Replaced(&'static str, &'static str, &'static str),
    /// A column of this type, NOT NULL: what tells migration 1's `task`
    /// table from the original service's.
    NotNull(&'static str, &'static str, &'static str),
    /// A time column the database fills in; with `true`, on every change too.
    TimeDefault(&'static str, &'static str, bool),
    /// The row the health check rewrites.
    ProbeRow,
    /// A trigger on a table.
    Trigger(&'static str, &'static str),
}

/// Every migration in `migrations/mysql`, by version; a test checks that
/// none is left out.
const CHANGES: &[(i64, &[Change])] = &[
    (
        1,
        &[
            Change::Table(
                "task",
                &[
                    "id",
                    "title",
                    "description",
                    "expiry_dt",
                    "create_dt",
                    "update_dt",
                ],
            ),
            Change::NotNull("task", "title", "varchar(255)"),
            Change::Replaced("task", "task_expiry_dt", "task_expiry_id"),
        ],
    ),
    (
        2,
        &[
            Change::Table(
                "notification",
                &[
                    "id",
                    "task_id",
                    "title",
                    "kind",
                    "expiry_dt",
                    "notified_at",
                    "late",
                    "delivery_state",
                    "delivery_attempts",
                    "next_attempt_at",
                    "last_error",
                    "delivered_at",
                ],
            ),
            Change::Index("notification", "notification_claim"),
            Change::Index("notification", "notification_delivery"),
            Change::Replaced("task", "task_update_dt", "task_update_id"),
        ],
    ),
    (
        3,
        &[
            Change::TimeDefault("task", "create_dt", false),
            Change::TimeDefault("task", "update_dt", true),
        ],
    ),
    (
        4,
        &[
            Change::Table(
                "idempotency_key",
                &[
                    "idem_key",
                    "fingerprint",
                    "created_at",
                    "expires_at",
                    "task_id",
                    "title",
                    "description",
                    "expiry_dt",
                    "create_dt",
                ],
            ),
            Change::Index("idempotency_key", "idempotency_key_expires_at"),
            Change::Table("write_probe", &["id", "probed_at"]),
            Change::ProbeRow,
            Change::Index("notification", "notification_task_id"),
        ],
    ),
    (5, &[Change::Table("claim_order", &["id", "claims"])]),
    (
        6,
        &[
            Change::Table("task", &["create_token"]),
            Change::Index("task", "task_create_token"),
        ],
    ),
    (7, &[Change::Table("task", &["status", "completed_dt"])]),
    (
        8,
        &[
            Change::Table("task", &["priority"]),
            Change::Table("idempotency_key", &["priority"]),
        ],
    ),
    (
        9,
        &[
            Change::Index("task", "task_expiry_id"),
            Change::Index("task", "task_update_id"),
            Change::Index("task", "task_create_id"),
        ],
    ),
    (10, &[Change::Index("task", "task_priority_id")]),
    (
        11,
        &[
            Change::Table("task", &["labels", "label_keys"]),
            Change::Table("idempotency_key", &["labels"]),
            Change::Table("task_label", &["label_key", "task_id"]),
            Change::Index("task_label", "task_label_task"),
            Change::Trigger("task", "task_label_after_insert"),
            Change::Trigger("task", "task_label_after_update"),
            Change::Trigger("task", "task_label_after_delete"),
        ],
    ),
    (
        12,
        &[
            Change::Table("task", &["search_text"]),
            Change::Index("task", "task_search"),
        ],
    ),
];

/// Runs the migrator; a migration recorded as failed gets advice from the
/// schema it left.
pub async fn run(migrator: &Migrator, conn: &mut MySqlConnection) -> anyhow::Result<()> {
    match migrator.run(&mut *conn).await {
        Err(MigrateError::Dirty(version)) => Err(explain_dirty(conn, version).await),
        result => result.map_err(|err| explain(err, "mysql")),
    }
}

/// How much of a migration is in the schema.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    All,
    Nothing,
    /// Some of it; what is missing, described.
    Part(Vec<String>),
    /// Migration 1 over the original service's table, which adoption
    /// (not migration 1) brings up to date.
    OriginalTable,
    /// This build does not list the migration's changes.
    Unknown,
}

async fn explain_dirty(conn: &mut MySqlConnection, version: i64) -> anyhow::Error {
    let found = match inspect(conn, version).await {
        Ok(found) => found,
        Err(err) => {
            return err.context(format!(
                "migration {version} is recorded as failed, and its changes cannot be checked"
            ));
        }
    };
    let file = format!("migrations/mysql/{version:04}_*.sql");
    let mark_applied =
        format!("`UPDATE {MIGRATIONS_TABLE} SET success = TRUE WHERE version = {version}`");
    let forget = format!("`DELETE FROM {MIGRATIONS_TABLE} WHERE version = {version}`");
    let advice = match found {
        Found::All => format!(
            "every change migration {version} makes is in the schema: it ran, but its end was \
             not recorded (a lost connection, or a Galera conflict on the history row). Mark \
             it applied with {mark_applied} and start taskman again. Do not delete the row: \
             the next start would {}",
            if version == 1 {
                "take the task table for the original service's and adopt it, making title \
                 nullable"
            } else {
                "run the migration again, which fails over its own changes"
            }
        ),
        Found::Nothing => format!(
            "none of migration {version}'s changes are in the schema: it did not take effect. \
             Remove its record with {forget} and start taskman again: it runs again"
        ),
        Found::Part(missing) => format!(
            "migration {version} took effect only in part; missing: {}. Make the missing \
             changes by hand as {file} makes them, then mark it applied with {mark_applied} \
             and start taskman again",
            missing.join(", ")
        ),
        Found::OriginalTable => format!(
            "the task table is the original service's, which migration 1 cannot be applied \
             over. Remove the record with {forget} and start taskman again: it then adopts \
             the table in place, keeping every row"
        ),
        Found::Unknown => format!(
            "migration {version} was interrupted part-way. Compare the schema with {file}: \
             if all of it is in, mark it applied with {mark_applied}; if none of it is, \
             remove the record with {forget}; then start taskman again"
        ),
    };
    // Without sqlx's own error as the cause: its advice, to remove the
    // row, is wrong whenever the migration's changes are in.
    anyhow!(
        "cannot apply the mysql migrations: migration {version} is recorded as failed: {advice}"
    )
}

async fn inspect(conn: &mut MySqlConnection, version: i64) -> anyhow::Result<Found> {
    let Some((_, changes)) = CHANGES.iter().find(|(listed, _)| *listed == version) else {
        return Ok(Found::Unknown);
    };
    if version == 1 && adopt::is_original_table(conn).await? {
        return Ok(Found::OriginalTable);
    }
    let mut missing = Vec::new();
    let mut anything = false;
    for change in *changes {
        let (present, absent) = check(conn, *change).await?;
        anything |= present;
        missing.extend(absent);
    }
    Ok(match (anything, missing.is_empty()) {
        (_, true) => Found::All,
        (false, false) => Found::Nothing,
        (true, false) => Found::Part(missing),
    })
}

/// Whether any of the change is in the schema, and what of it is missing.
async fn check(conn: &mut MySqlConnection, change: Change) -> anyhow::Result<(bool, Vec<String>)> {
    Ok(match change {
        Change::Table(table, columns) => {
            let found = column_names(conn, table).await?;
            if found.is_empty() {
                (false, vec![format!("table {table}")])
            } else {
                let missing: Vec<String> = columns
                    .iter()
                    .filter(|column| !found.iter().any(|name| name == *column))
                    .map(|column| format!("column {table}.{column}"))
                    .collect();
                (missing.len() < columns.len(), missing)
            }
        }
        Change::Index(table, index) => present_or(
            super::adopt::index_exists(conn, table, index).await?,
            format!("index {index} on {table}"),
        ),
        Change::Replaced(table, index, successor) => present_or(
            super::adopt::index_exists(conn, table, index).await?
                || super::adopt::index_exists(conn, table, successor).await?,
            format!("index {index} on {table}"),
        ),
        Change::NotNull(table, column, column_type) => {
            let found = column_shape(conn, table, column).await?;
            let right = found.is_some_and(|shape| {
                shape.column_type.eq_ignore_ascii_case(column_type) && shape.is_nullable == "NO"
            });
            present_or(right, format!("{table}.{column} as {column_type} NOT NULL"))
        }
        Change::TimeDefault(table, column, on_update) => {
            let found = column_shape(conn, table, column).await?;
            let right = found.is_some_and(|shape| {
                let default = shape
                    .column_default
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let extra = shape.extra.to_ascii_lowercase();
                default.starts_with("current_timestamp")
                    && (!on_update || extra.contains("on update current_timestamp"))
            });
            let what = if on_update {
                "DEFAULT and ON UPDATE CURRENT_TIMESTAMP(6)"
            } else {
                "DEFAULT CURRENT_TIMESTAMP(6)"
            };
            present_or(right, format!("{table}.{column} {what}"))
        }
        Change::ProbeRow => {
            let found = if column_names(conn, "write_probe").await?.is_empty() {
                0
            } else {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM write_probe WHERE id = 1")
                    .fetch_one(&mut *conn)
                    .await?
            };
            present_or(found > 0, "the write_probe row (id 1)".to_owned())
        }
        Change::Trigger(table, trigger) => {
            let found = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM information_schema.triggers \
                 WHERE trigger_schema = DATABASE() AND event_object_table = ? \
                 AND trigger_name = ?",
            )
            .bind(table)
            .bind(trigger)
            .fetch_one(&mut *conn)
            .await?;
            present_or(found > 0, format!("trigger {trigger} on {table}"))
        }
    })
}

fn present_or(present: bool, what: String) -> (bool, Vec<String>) {
    if present {
        (true, Vec::new())
    } else {
        (false, vec![what])
    }
}

async fn column_names(conn: &mut MySqlConnection, table: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT LOWER(column_name) FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = ?",
    )
    .bind(table)
    .fetch_all(conn)
    .await
}

#[derive(sqlx::FromRow)]
struct ColumnShape {
    column_type: String,
    is_nullable: String,
    column_default: Option<String>,
    extra: String,
}

async fn column_shape(
    conn: &mut MySqlConnection,
    table: &str,
    column: &str,
) -> sqlx::Result<Option<ColumnShape>> {
    sqlx::query_as(
        "SELECT CAST(column_type AS CHAR) AS column_type, CAST(is_nullable AS CHAR) AS is_nullable, \
         CAST(column_default AS CHAR) AS column_default, CAST(extra AS CHAR) AS extra \
         FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?",
    )
    .bind(table)
    .bind(column)
    .fetch_optional(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_lists_its_changes() {
        let migrator = sqlx::migrate!("./migrations/mysql");
        let versions: Vec<i64> = migrator.iter().map(|migration| migration.version).collect();
        let listed: Vec<i64> = CHANGES.iter().map(|(version, _)| *version).collect();
        assert_eq!(
            versions, listed,
            "a new migration needs its changes in CHANGES"
        );
    }
}
