//! `taskman backup`: an online, consistent copy of a SQLite database.
//!
//! Copying `taskman.db` while the server runs is not a backup: recent
//! commits live in `taskman.db-wal` until a checkpoint, and a copy of the
//! two files taken at different moments can be torn. `VACUUM INTO` reads
//! the database in one read transaction (writers go on meanwhile, in WAL
//! mode) and writes a single self-contained file.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::Backend;

/// What a backup holds, read back from the copy itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    pub tasks: i64,
    pub notifications: i64,
    pub bytes: u64,
}

/// Copies the SQLite database at `database_url` to `target`, which must not
/// exist yet. The copy appears at `target` only once it is complete, synced
/// and checked (`PRAGMA integrity_check`).
pub async fn backup(database_url: &str, target: &Path) -> anyhow::Result<BackupSummary> {
    if Backend::of(database_url)? == Backend::MySql {
        bail!(
            "`taskman backup` copies a SQLite database; for MySQL/MariaDB use \
             `mariadb-dump --single-transaction` (see the README's \"Backup and restore\")"
        );
    }
    ensure!(
        !target.exists(),
        "{} already exists; a backup never overwrites a file",
        target.display()
    );
    let source = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("invalid SQLite URL {database_url:?}"))?;
    let source_file = source.get_filename().to_owned();
    ensure!(
        source_file.exists(),
        "there is no database at {}",
        source_file.display()
    );
    let partial = partial_path(target);
    let mut conn = SqliteConnection::connect_with(
        &source
            .create_if_missing(false)
            .read_only(true)
            // A checkpoint or a large write may hold the file briefly.
            .busy_timeout(Duration::from_secs(30)),
    )
    .await
    .with_context(|| format!("cannot open {}", source_file.display()))?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot write {}", partial.display()));
    let _ = conn.close().await;
    if let Err(err) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(err);
    }
    let summary = match check(&partial).await {
        Ok(summary) => summary,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err);
        }
    };
    publish(&partial, target)?;
    Ok(summary)
}

/// Beside the target, so that the rename is within one file system.
fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}", std::process::id()));
    target.with_file_name(name)
}

async fn check(copy: &Path) -> anyhow::Result<BackupSummary> {
    let options = SqliteConnectOptions::new()
        .filename(copy)
        .read_only(true)
        .create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot open the copy {}", copy.display()))?;
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    ensure!(
        integrity == "ok",
        "the copy failed its integrity check: {integrity}"
    );
    let (tasks,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM task")
        .fetch_one(&mut conn)
        .await
        .context("the copy has no task table: is the source a taskman database?")?;
    let (notifications,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notification")
        .fetch_one(&mut conn)
        .await
        .unwrap_or((0,));
    conn.close().await?;
    let bytes = std::fs::metadata(copy)?.len();
    Ok(BackupSummary {
        tasks,
        notifications,
        bytes,
    })
}

/// Syncs the copy, renames it into place and syncs the directory, so that
/// after a crash the target is either absent or whole.
fn publish(partial: &Path, target: &Path) -> anyhow::Result<()> {
    std::fs::File::open(partial)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("cannot sync {}", partial.display()))?;
    // Not `rename`: it would replace a target made meanwhile.
    if let Err(err) = std::fs::hard_link(partial, target) {
        let _ = std::fs::remove_file(partial);
        return Err(err).with_context(|| format!("cannot create {}", target.display()));
    }
    std::fs::remove_file(partial)?;
    if let Some(dir) = target.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .with_context(|| format!("cannot sync {}", dir.display()))?;
    }
    Ok(())
}
