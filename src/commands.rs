//! The one-off commands beside `serve`: each runs, reports on stderr and
//! exits.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use anyhow::Context;

use crate::domain::ArchiveRecord;

/// A progress line on stderr every this many records.
const PROGRESS_EVERY: u64 = 100_000;

/// `taskman backup PATH`.
pub async fn backup(database_url: &str, path: &Path) -> anyhow::Result<()> {
    let summary = crate::store::backup(database_url, path).await?;
    eprintln!(
        "backed up {} tasks and {} warnings to {} ({} bytes)",
        summary.tasks,
        summary.notifications,
        path.display(),
        summary.bytes
    );
    Ok(())
}

/// `taskman export`: the archive as JSON Lines on stdout.
pub async fn export(database_url: &str) -> anyhow::Result<()> {
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    let mut written = 0u64;
    let mut out = |record: &ArchiveRecord| -> anyhow::Result<()> {
        serde_json::to_writer(&mut stdout, record)?;
        stdout.write_all(b"\n").context("cannot write to stdout")?;
        written += 1;
        if written.is_multiple_of(PROGRESS_EVERY) {
            eprintln!("exported {written} records");
        }
        Ok(())
    };
    let end = crate::store::export(database_url, &mut out).await?;
    stdout.flush().context("cannot write to stdout")?;
    eprintln!(
        "exported {} tasks and {} warnings",
        end.tasks, end.notifications
    );
    Ok(())
}

/// `taskman import [--replace]`: an archive from stdin.
pub async fn import(database_url: &str, replace: bool) -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut records = stdin.lines().enumerate().map(|(index, line)| {
        let number = index + 1;
        if (number as u64).is_multiple_of(PROGRESS_EVERY) {
            eprintln!("read {number} records");
        }
        let line = line.with_context(|| format!("cannot read line {number} of stdin"))?;
        serde_json::from_str::<ArchiveRecord>(&line).with_context(|| {
            format!("line {number} is not an archive record; nothing was imported")
        })
    });
    let end = crate::store::import(database_url, &mut records, replace).await?;
    eprintln!(
        "imported {} tasks and {} warnings",
        end.tasks, end.notifications
    );
    Ok(())
}
