//! Statements both backends run as they are. Every one has an explicit
//! column list and bound parameters only.

/// Every column a task is read with, in [`super::rows::TaskRow`]'s order:
/// one list, so that a new column is added in one place.
macro_rules! task_columns {
    () => {
        "id, title, description, expiry_dt, create_dt, update_dt, status, completed_dt, priority, \
         labels"
    };
}
pub(crate) use task_columns;

pub const TASK_COLUMNS: &str = task_columns!();

pub const SELECT_TASK: &str = concat!("SELECT ", task_columns!(), " FROM task WHERE id = ?");
/// How many tasks past a keyset position expire in `[after, before)`,
/// counted no further than a bound: a walk of the expiry index (which
/// holds the ids) that stops there.
pub const COUNT_EXPIRING_UP_TO: &str = "SELECT COUNT(*) FROM \
     (SELECT 1 FROM task WHERE expiry_dt >= ? AND expiry_dt < ? AND id > ? LIMIT ?) AS w";
/// The highest id: one step down the primary key, an upper estimate of
/// the table's size.
pub const MAX_TASK_ID: &str = "SELECT COALESCE(MAX(id), 0) FROM task";
pub const COUNT_TASKS: &str = "SELECT COUNT(*) FROM task";
/// The newest version below a bound (the end of the time range): one
/// step down the update_dt index.
pub const NEWEST_VERSION: &str =
    "SELECT update_dt FROM task WHERE update_dt < ? ORDER BY update_dt DESC LIMIT 1";
/// With the create's token (see [`super::create::CreateToken`]). The
/// labels' keys go in the same statement, so that the trigger indexing
/// them (migration 0011) reads taskman's own lowercase.
pub const INSERT_TASK: &str = "INSERT INTO task \
     (title, description, expiry_dt, priority, labels, label_keys, create_dt, update_dt, \
     create_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
pub const SELECT_TASK_BY_TOKEN: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM task WHERE create_token = ?"
);
/// A `NULL` title leaves the stored one as it is: a change that does not
/// touch the title keeps a `NULL` (or any title another tool wrote) as stored.
/// Leaves the labels as stored (another tool's included).
pub const UPDATE_TASK: &str = "UPDATE task SET title = COALESCE(?, title), description = ?, \
     expiry_dt = ?, priority = ?, update_dt = ? WHERE id = ?";
/// [`UPDATE_TASK`] with new labels, and their keys in the same statement
/// (see [`INSERT_TASK`]). The trigger of migration 0011 takes the keys from
/// `label_keys` only when the statement changed it (else another tool
/// changed `labels` alone), so a change of case, which keeps the keys,
/// must still change the column: when it already holds the keys, they are
/// written with a leading space, the same JSON in other text. Binds: the
/// labels, the keys, the keys with the space, the keys.
pub const UPDATE_TASK_LABELLED: &str = "UPDATE task SET title = COALESCE(?, title), \
     description = ?, expiry_dt = ?, priority = ?, labels = ?, \
     label_keys = CASE WHEN label_keys = ? THEN ? ELSE ? END, update_dt = ? WHERE id = ?";
/// Completes or reopens a task, with its next version.
pub const UPDATE_TASK_STATUS: &str =
    "UPDATE task SET status = ?, completed_dt = ?, update_dt = ? WHERE id = ?";
pub const DELETE_TASK: &str = "DELETE FROM task WHERE id = ?";
pub const DELETE_ALL_TASKS: &str = "DELETE FROM task";

pub const SELECT_IDEMPOTENCY_KEY: &str = "SELECT fingerprint, expires_at, task_id, title, \
     description, expiry_dt, create_dt, priority, labels FROM idempotency_key WHERE idem_key = ?";
pub const RECORD_IDEMPOTENT_TASK: &str = "UPDATE idempotency_key SET task_id = ?, title = ?, \
     description = ?, expiry_dt = ?, create_dt = ?, priority = ?, labels = ? WHERE idem_key = ?";
pub const DELETE_IDEMPOTENCY_KEY: &str = "DELETE FROM idempotency_key WHERE idem_key = ?";
pub const PURGE_IDEMPOTENCY_KEYS: &str = "DELETE FROM idempotency_key WHERE expires_at < ?";

/// The cheapest real read of a table (a ping does not touch one).
pub const PROBE_READ: &str = "SELECT id FROM write_probe WHERE id = 1";

/// The cheapest real write: it must reach the disk, so it changes a row.
pub const PROBE_WRITE: &str = "UPDATE write_probe SET probed_at = ? WHERE id = 1";

pub const LATEST_NOTIFICATION_ID: &str = "SELECT COALESCE(MAX(id), 0) FROM notification";
/// Newest first, below a keyset position (`i64::MAX` for none).
pub const LIST_NOTIFICATIONS: &str = concat!(
    "SELECT id, task_id, title, kind, expiry_dt, notified_at, late, delivery_state, ",
    "delivery_attempts, last_error, delivered_at FROM notification ",
    "WHERE id < ? ORDER BY id DESC LIMIT ? OFFSET ?"
);
pub const LIST_TASK_NOTIFICATIONS: &str = concat!(
    "SELECT id, task_id, title, kind, expiry_dt, notified_at, late, delivery_state, ",
    "delivery_attempts, last_error, delivered_at FROM notification ",
    "WHERE task_id = ? AND id < ? ORDER BY id DESC LIMIT ? OFFSET ?"
);
pub const COUNT_NOTIFICATIONS: &str = "SELECT COUNT(*) FROM notification";
pub const COUNT_TASK_NOTIFICATIONS: &str = "SELECT COUNT(*) FROM notification WHERE task_id = ?";
/// The notifications one claim transaction inserted, by their id range.
pub const NOTIFICATIONS_BETWEEN: &str = concat!(
    "SELECT id, task_id, title, kind, expiry_dt, notified_at, late, delivery_state, ",
    "delivery_attempts, last_error, delivered_at FROM notification ",
    "WHERE id BETWEEN ? AND ? ORDER BY id"
);
pub const NOTIFICATIONS_AFTER: &str = concat!(
    "SELECT id, task_id, title, kind, expiry_dt, notified_at, late, delivery_state, ",
    "delivery_attempts, last_error, delivered_at FROM notification ",
    "WHERE id > ? ORDER BY id LIMIT ?"
);
pub const DUE_DELIVERIES: &str = concat!(
    "SELECT id, task_id, title, kind, expiry_dt, notified_at, late, delivery_state, ",
    "delivery_attempts, last_error, delivered_at FROM notification ",
    "WHERE delivery_state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"
);
/// Takes a delivery for one replica until the lease ends; matches only if
/// no other replica took it meanwhile.
pub const LEASE_DELIVERY: &str = "UPDATE notification SET next_attempt_at = ? \
     WHERE id = ? AND delivery_state = 'pending' AND next_attempt_at <= ?";
pub const RECORD_DELIVERY: &str = "UPDATE notification SET delivery_state = ?, \
     delivery_attempts = delivery_attempts + 1, last_error = COALESCE(?, last_error), \
     next_attempt_at = ?, delivered_at = ? WHERE id = ?";

/// A task awaits a warning while it is not done and has an expiry that no
/// notification records yet. Trailing spaces aside (MySQL ignores them in
/// comparisons, SQLite does not), `done` is done and anything else open:
/// exactly as `TaskStatus::from_stored` reads it.
macro_rules! awaiting_warning {
    () => {
        " t.expiry_dt IS NOT NULL AND RTRIM(t.status) <> 'done' AND NOT EXISTS \
         (SELECT 1 FROM notification n WHERE n.task_id = t.id AND n.expiry_dt = t.expiry_dt)"
    };
}

pub const PENDING_EXPIRY: &str = concat!(
    "SELECT t.id, t.expiry_dt, t.update_dt FROM task t WHERE t.id = ? AND",
    awaiting_warning!()
);
pub const PENDING_BATCH: &str = concat!(
    "SELECT t.id, t.expiry_dt, t.update_dt FROM task t WHERE t.id > ? AND",
    awaiting_warning!(),
    " ORDER BY t.id LIMIT ?"
);
pub const CHANGED_PENDING_BATCH: &str = concat!(
    "SELECT t.id, t.expiry_dt, t.update_dt FROM task t WHERE t.update_dt >= ? AND t.id > ? AND",
    awaiting_warning!(),
    " ORDER BY t.id LIMIT ?"
);

/// `?, ?, …` with `count` placeholders, for an `IN (…)` list.
pub fn placeholders(count: usize) -> String {
    let mut list = "?, ".repeat(count);
    list.truncate(list.len().saturating_sub(2));
    list
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_comma_separated() {
        assert_eq!(super::placeholders(1), "?");
        assert_eq!(super::placeholders(3), "?, ?, ?");
    }
}
