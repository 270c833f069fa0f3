//! Applies a backend's migrations, with a message that says what to do when
//! they cannot be applied. MySQL's migration recorded as failed gets a
//! closer look in `mysql_migrations.rs`.

use std::ops::Deref;

use anyhow::anyhow;
use sqlx::Acquire;
use sqlx::migrate::{Migrate, MigrateError, Migrator};

/// The table sqlx records applied migrations in.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

pub async fn run<'a, A>(migrator: &Migrator, conn: A, backend: &str) -> anyhow::Result<()>
where
    A: Acquire<'a>,
    <A::Connection as Deref>::Target: Migrate,
{
    migrator
        .run(conn)
        .await
        .map_err(|err| explain(err, backend))
}

pub fn explain(err: MigrateError, backend: &str) -> anyhow::Error {
    let what_to_do = match &err {
        MigrateError::Dirty(version) => format!(
            "migration {version} was interrupted part-way ({backend} cannot undo schema changes). \
             Compare the schema with migrations/{backend}/{version:04}_*.sql, then run \
             `DELETE FROM {MIGRATIONS_TABLE} WHERE version = {version}` and start taskman again: \
             migrations from 0003 on are safe to run again"
        ),
        MigrateError::VersionMissing(version) => format!(
            "the database has migration {version}, which this taskman does not know: \
             it was migrated by a newer taskman; run that version (or newer)"
        ),
        MigrateError::VersionMismatch(version) => format!(
            "migration {version} differs from the one applied to this database; \
             this taskman build was changed after the database was migrated"
        ),
        // Migrations applied before the failing one stay applied.
        _ => "see the cause below".to_owned(),
    };
    anyhow!(err).context(format!(
        "cannot apply the {backend} migrations: {what_to_do}"
    ))
}
