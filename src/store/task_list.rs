//! A page of tasks in any order, by offset or from a keyset position.
//!
//! A page in an order by a key other than id reads up to three parts in
//! turn, each one index seek in the order's direction that stops once the
//! page is full, so that its cost does not grow with its depth:
//!
//! 1. *ties*: the position's key, later ids (`key = ? AND id > ?`);
//! 2. *beyond*: later keys (`key > ?`);
//! 3. *tail*: no key at all, by id (`key IS NULL AND id > ?`), last in
//!    both directions.
//!
//! A text search (`q`) is one more term, read from the backend's text index
//! ([`TextIndex`]).
//!
//! Descending flips every comparison. Not `(key, id) > (?, ?)`: MySQL
//! turns only the spelled-out `OR` into index ranges, and SQLite seeks a
//! row value on its first column alone, then walks every tie (measured:
//! 1.2M VM steps past 110k tasks sharing an expiry, against 425 for the
//! ties part). Not one `key > ? OR (key = ? AND id > ?)` either: SQLite
//! again seeks on the key alone.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use sqlx::{Database, Executor, IntoArguments};

use super::dialect::{Conn, Dialect};
use super::op::OpResult;
use super::rows::{DbTime, TaskRow};
use super::sql;
use super::text_index::TextIndex;
use crate::domain::{
    Page, PageRequest, PageStart, PriorityRange, SortDirection, Task, TaskFilter, TaskOrder,
    TaskPosition, TaskSort, TaskStatus, Timestamp,
};

/// The column a sort reads and the index that serves its order: the key,
/// then the id (migration 0009). A new sort is one arm here and one in
/// [`TaskSort`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SortColumn {
    pub column: &'static str,
    pub index: &'static str,
    /// Whether the key is a time (bound as the backend stores times) or an
    /// integer (bound as it is).
    pub time: bool,
}

/// `None` for the id sort: the primary key serves it.
pub(super) fn sort_column(sort: TaskSort) -> Option<SortColumn> {
    let (column, index, time) = match sort {
        TaskSort::Id => return None,
        TaskSort::ExpiryDt => ("expiry_dt", "task_expiry_id", true),
        TaskSort::UpdateDt => ("update_dt", "task_update_id", true),
        TaskSort::CreateDt => ("create_dt", "task_create_id", true),
        TaskSort::Priority => ("priority", "task_priority_id", false),
    };
    Some(SortColumn {
        column,
        index,
        time,
    })
}

/// Which rows of the order one statement reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Range {
    /// The id sort, past an id.
    Id,
    /// Every row with a key.
    Keyed,
    /// The position's key, past its id.
    Ties,
    /// Past the position's key.
    Beyond,
    /// Every row without a key.
    Tail,
    /// Rows without a key, past an id.
    TailAfter,
}

/// How an expiry window is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Window {
    None,
    /// As the planner likes (SQLite: along the expiry index).
    ByIndex,
    /// Not along the expiry index: the unary `+` keeps it out of SQLite's
    /// plan (see [`Dialect::PLANS_WINDOWS`]), which then walks the order's.
    ByScan,
}

/// One statement of a listing; the text is made once per shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Shape {
    pub sort: TaskSort,
    pub direction: SortDirection,
    pub range: Range,
    pub window: Window,
    pub status: Option<TaskStatus>,
    /// `priority >= ?`, `priority <= ?`.
    pub priority_min: bool,
    pub priority_max: bool,
    /// The words of `q`, in this index.
    pub search: Option<TextIndex>,
    /// `FORCE INDEX` of the order's index for the ties part (see
    /// [`Dialect::HINTS_TIES`]).
    pub tie_hint: bool,
    /// How many labels a task must have: each a seek of task_label's
    /// primary key (migration 0011); see [`Shape::text`].
    pub labels: usize,
    /// `update_dt <= ?`: leaves out what changed since a walk began.
    pub as_of: bool,
    /// `COUNT(*)` of the rows rather than a page of them.
    pub count: bool,
}

static STATEMENTS: LazyLock<Mutex<HashMap<Shape, &'static str>>> = LazyLock::new(Mutex::default);

impl Shape {
    /// The statement's text; binds, in order: the search's expression, the
    /// range's (key, then id), the window's two bounds, the labels' keys,
    /// the priority bounds, `as_of`; then a page's limit and offset.
    pub fn statement(self) -> &'static str {
        let mut made = STATEMENTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Leaked once per shape, of which there are a few hundred at most.
        made.entry(self)
            .or_insert_with(|| Box::leak(self.text().into_boxed_str()))
    }

    fn text(self) -> String {
        let (after, dir) = match self.direction {
            SortDirection::Asc => (">", ""),
            SortDirection::Desc => ("<", " DESC"),
        };
        let mut terms = Vec::new();
        let mut from = "task";
        // The id of a listing by id: FTS5's rowid when its matches lead.
        let mut id = "id";
        match self.search {
            None => {}
            Some(TextIndex::Fts5) if self.sort == TaskSort::Id && !self.count => {
                from = "(SELECT rowid AS hit FROM task_fts WHERE task_fts MATCH ?) \
                        JOIN task ON id = hit";
                id = "hit";
            }
            Some(TextIndex::Fts5) => {
                terms.push("id IN (SELECT rowid FROM task_fts WHERE task_fts MATCH ?)".to_owned())
            }
            Some(TextIndex::InnoDb) => {
                terms.push("MATCH (search_text) AGAINST (? IN BOOLEAN MODE)".to_owned())
            }
        }
        let hinted;
        if self.tie_hint
            && self.range == Range::Ties
            && self.search.is_none()
            && let Some(SortColumn { index, .. }) = sort_column(self.sort)
        {
            hinted = format!("task FORCE INDEX ({index})");
            from = &hinted;
        }
        // A page by id with a label and no search reads the first label's
        // rows of task_label in task id order (its primary key), which stops
        // with the page, however few or many tasks carry the label.
        let label_leads =
            self.labels > 0 && self.sort == TaskSort::Id && self.search.is_none() && !self.count;
        if label_leads {
            from = "task_label JOIN task ON id = task_id";
            id = "task_id";
        }
        let by_id = format!("id{dir}");
        // The id sort's position, which a count leaves out.
        let mut position = None;
        let order = match sort_column(self.sort) {
            None => {
                position = Some(terms.len());
                terms.push(format!("{id} {after} ?"));
                format!("{id}{dir}")
            }
            Some(SortColumn { column, .. }) => {
                terms.push(match self.range {
                    Range::Id | Range::Keyed => format!("{column} IS NOT NULL"),
                    Range::Ties => format!("{column} = ? AND id {after} ?"),
                    Range::Beyond => format!("{column} {after} ?"),
                    Range::Tail => format!("{column} IS NULL"),
                    Range::TailAfter => format!("{column} IS NULL AND id {after} ?"),
                });
                match self.range {
                    Range::Tail | Range::TailAfter => by_id,
                    _ => format!("{column}{dir}, id{dir}"),
                }
            }
        };
        match self.window {
            Window::None => {}
            Window::ByIndex => terms.push("expiry_dt >= ? AND expiry_dt < ?".to_owned()),
            Window::ByScan => terms.push("+expiry_dt >= ? AND +expiry_dt < ?".to_owned()),
        }
        // Each further label, and every label of a page in another order, is
        // a probe of task_label's primary key for the row in hand: `id IN
        // (…)` made SQLite collect every task with the label first (58 ms
        // for a label on 200k of 1M tasks, against 0.2 ms for the probes). A
        // count reads every match anyway, and collecting them is cheaper
        // than a probe per task.
        for label in 0..self.labels {
            terms.push(if label == 0 && label_leads {
                "label_key = ?".to_owned()
            } else if self.count {
                "id IN (SELECT task_id FROM task_label WHERE label_key = ?)".to_owned()
            } else {
                "EXISTS (SELECT 1 FROM task_label WHERE label_key = ? AND task_id = task.id)"
                    .to_owned()
            });
        }
        // As `TaskStatus::from_stored` reads a status (trailing spaces
        // aside, `done` is done), like the claim; no index: see 0009.
        match self.status {
            None => {}
            Some(TaskStatus::Done) => terms.push("RTRIM(status) = 'done'".to_owned()),
            Some(TaskStatus::Open) => terms.push("RTRIM(status) <> 'done'".to_owned()),
        }
        // Bounds only filter the rows the order's index yields, unless the
        // order is by priority: SQLite (without STAT4) took a two-sided
        // range of the priority index for selective, read a third of a
        // million tasks through it and sorted them by id (p99 250 ms at
        // 1,000,000 tasks, `make bench`); the unary `+` keeps it out.
        let priority = if self.sort == TaskSort::Priority {
            "priority"
        } else {
            "+priority"
        };
        if self.priority_min {
            terms.push(format!("{priority} >= ?"));
        }
        if self.priority_max {
            terms.push(format!("{priority} <= ?"));
        }
        if self.as_of {
            terms.push("update_dt <= ?".to_owned());
        }
        if self.count {
            // The total counts the whole listing: without the id sort's
            // position (`id > ?`), which would need a bind.
            let terms: Vec<&String> = terms
                .iter()
                .enumerate()
                .filter(|(at, _)| Some(*at) != position)
                .map(|(_, term)| term)
                .collect();
            if terms.is_empty() {
                return sql::COUNT_TASKS.to_owned();
            }
            let terms: Vec<&str> = terms.iter().map(|term| term.as_str()).collect();
            return format!("SELECT COUNT(*) FROM task WHERE {}", terms.join(" AND "));
        }
        format!(
            "SELECT {} FROM {from} WHERE {} ORDER BY {order} LIMIT ? OFFSET ?",
            sql::TASK_COLUMNS,
            terms.join(" AND ")
        )
    }
}

/// A value bound to a listing statement.
#[derive(Clone, Debug)]
enum Bind<T> {
    Int(i64),
    Time(T),
    Text(String),
}

/// The page, and the position past its last task if another follows.
pub(super) async fn list_tasks<D: Dialect>(
    conn: &mut Conn<D>,
    filter: &TaskFilter,
    order: TaskOrder,
    page: PageRequest<TaskPosition>,
) -> OpResult<Page<Task, TaskPosition>>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
    for<'r> (D::Time,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    // One row more than the page tells whether another page follows.
    let fetch = i64::from(page.limit) + 1;
    let window = expiry_window::<D>(filter);
    let column = sort_column(order.sort);
    let after = match (column, page.start) {
        (None, PageStart::After(position)) if order.direction == SortDirection::Asc => position.id,
        _ => 0,
    };
    let plan = match window {
        None => Window::None,
        // The window and the order share the expiry index.
        Some(_) if order.sort == TaskSort::ExpiryDt => Window::ByIndex,
        // The text index leads; the window only filters its matches.
        Some(_) if filter.search.is_some() => Window::ByScan,
        Some((from, until)) => window_plan::<D>(conn, from, until, after, fetch).await?,
    };
    let priority = filter.priority.unwrap_or(PriorityRange {
        min: None,
        max: None,
    });
    let shape = |range: Range, as_of: bool| Shape {
        sort: order.sort,
        direction: order.direction,
        range,
        window: plan,
        status: filter.status,
        priority_min: priority.min.is_some(),
        priority_max: priority.max.is_some(),
        search: filter.search.as_ref().map(|_| D::TEXT_INDEX),
        // A window leaves the choice of index to the planner (it may be
        // narrower than the ties).
        tie_hint: D::HINTS_TIES && plan == Window::None,
        labels: filter.labels.len(),
        as_of,
        count: false,
    };
    // Bound before every other value of a statement.
    let search: Vec<Bind<D::Time>> = filter
        .search
        .iter()
        .map(|query| Bind::Text(D::TEXT_INDEX.expression(query)))
        .collect();
    // Bound after the range's values, in this order.
    let mut filter_binds = Vec::new();
    if let Some((from, until)) = window {
        filter_binds.extend([Bind::Time(from), Bind::Time(until)]);
    }
    filter_binds.extend(
        filter
            .labels
            .iter()
            .map(|label| Bind::Text(label.key().to_owned())),
    );
    filter_binds.extend(
        [priority.min, priority.max]
            .into_iter()
            .flatten()
            .map(|bound| Bind::Int(bound.get())),
    );
    let count_binds: Vec<Bind<D::Time>> = search.iter().chain(&filter_binds).cloned().collect();
    let key = |key: i64| match column {
        Some(SortColumn { time: true, .. }) => Bind::Time(D::Time::encode(
            Timestamp::from_micros(key).unwrap_or(Timestamp::MIN),
        )),
        _ => Bind::Int(key),
    };
    // Each part: its statement, and its binds before the window's.
    let mut parts: Vec<(Shape, Vec<Bind<D::Time>>)> = Vec::new();
    let mut as_of = None;
    let mut skip = 0;
    match (column, page.start) {
        (None, start) => {
            let after = match (start, order.direction) {
                (PageStart::After(position), _) => position.id,
                (PageStart::Offset(_), SortDirection::Asc) => 0,
                (PageStart::Offset(_), SortDirection::Desc) => i64::MAX,
            };
            if let PageStart::Offset(offset) = start {
                skip = offset;
            }
            parts.push((shape(Range::Id, false), vec![Bind::Int(after)]));
        }
        (Some(_), PageStart::Offset(offset)) => {
            // Read before the page: a task changed after this is newer.
            as_of = Some(newest_version::<D>(conn).await?);
            skip = offset;
            parts.push((shape(Range::Keyed, false), Vec::new()));
            parts.push((shape(Range::Tail, false), Vec::new()));
        }
        (Some(_), PageStart::After(position)) => {
            as_of = position.as_of;
            let since = as_of.is_some();
            let id = Bind::Int(position.id);
            match position.key {
                Some(value) => {
                    parts.push((shape(Range::Ties, since), vec![key(value), id]));
                    parts.push((shape(Range::Beyond, since), vec![key(value)]));
                    parts.push((shape(Range::Tail, since), Vec::new()));
                }
                None => parts.push((shape(Range::TailAfter, since), vec![id])),
            }
        }
    }
    let version: Option<Bind<D::Time>> = match page.start {
        PageStart::After(_) => as_of.map(|as_of| Bind::Time(D::Time::encode(as_of))),
        PageStart::Offset(_) => None,
    };
    let mut skip = i64::try_from(skip).unwrap_or(i64::MAX);
    let mut tasks: Vec<Task> = Vec::new();
    for (part, range_binds) in parts {
        let want = fetch - tasks.len() as i64;
        if want <= 0 {
            break;
        }
        if !tasks.is_empty() {
            // The offset ended in an earlier part.
            skip = 0;
        }
        if skip > 0 && part.range == Range::Tail {
            // The offset reaches past every keyed row: what is left of it
            // skips rows of the tail.
            let keyed = Shape {
                window: counted(plan),
                count: true,
                ..shape(Range::Keyed, false)
            };
            skip = (skip - count::<D>(conn, keyed.statement(), &count_binds).await?).max(0);
        }
        let mut binds = search.clone();
        binds.extend(range_binds);
        binds.extend(filter_binds.iter().cloned());
        binds.extend(version.clone());
        tasks.extend(fetch_part::<D>(conn, part.statement(), &binds, want, skip).await?);
    }
    let next = if tasks.len() > page.limit as usize {
        tasks.truncate(page.limit as usize);
        tasks
            .last()
            .map(|task| TaskPosition::after(task, order, as_of))
    } else {
        None
    };
    let total = if page.count_total {
        let all = Shape {
            sort: TaskSort::Id,
            window: counted(plan),
            count: true,
            ..shape(Range::Id, false)
        };
        let counted = count::<D>(conn, all.statement(), &count_binds).await?;
        Some(u64::try_from(counted).unwrap_or_default())
    } else {
        None
    };
    Ok(Page {
        items: tasks,
        total,
        next,
    })
}

/// A count reads every row of the window: along the expiry index.
fn counted(plan: Window) -> Window {
    match plan {
        Window::None => Window::None,
        Window::ByIndex | Window::ByScan => Window::ByIndex,
    }
}

async fn fetch_part<D: Dialect>(
    conn: &mut Conn<D>,
    statement: &'static str,
    binds: &[Bind<D::Time>],
    limit: i64,
    offset: i64,
) -> OpResult<Vec<Task>>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> TaskRow<D::Time>: sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let mut query = sqlx::query_as::<_, TaskRow<D::Time>>(statement);
    for bind in binds {
        query = match *bind {
            Bind::Int(value) => query.bind(value),
            Bind::Time(value) => query.bind(value),
            Bind::Text(ref value) => query.bind(value.clone()),
        };
    }
    Ok(query
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(Task::from)
        .collect())
}

async fn count<D: Dialect>(
    conn: &mut Conn<D>,
    statement: &'static str,
    binds: &[Bind<D::Time>],
) -> OpResult<i64>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'q> String: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> (i64,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let mut query = sqlx::query_as::<_, (i64,)>(statement);
    for bind in binds {
        query = match *bind {
            Bind::Int(value) => query.bind(value),
            Bind::Time(value) => query.bind(value),
            Bind::Text(ref value) => query.bind(value.clone()),
        };
    }
    let (count,) = query.fetch_one(&mut *conn).await?;
    Ok(count)
}

/// The newest `update_dt` in the table: one step down its index. A value
/// that is no instant (SQLite: text, which sorts above every integer) is
/// passed over; an empty table gives the earliest instant.
async fn newest_version<D: Dialect>(conn: &mut Conn<D>) -> OpResult<Timestamp>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'r> (D::Time,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    let newest = sqlx::query_as::<_, (D::Time,)>(sql::NEWEST_VERSION)
        .bind(D::Time::encode(Timestamp::MAX))
        .fetch_optional(&mut *conn)
        .await?;
    Ok(newest
        .and_then(|(time,)| time.to_timestamp())
        .unwrap_or(Timestamp::MIN))
}

/// How to read a page of the tasks expiring in `[from, until)`, past task
/// `after` (0 in an order by another key).
///
/// Walking the expiry index reads every task of the window and sorts them
/// into the listing's order; walking the order's own index reads about
/// `fetch × tasks ÷ window` rows until the page is full. The first is
/// cheaper for a narrow window, the second for a wide one (SQLite with a
/// million tasks and a month's window, by id: 47 ms against 0.3 ms a
/// page). They cost the same where the window holds about
/// √(fetch × tasks ÷ 5) tasks (an index step and its share of the sort
/// cost about five rows of a table walk, measured on SQLite), so the
/// window's tasks still ahead of the page are counted up to there, and no
/// further.
async fn window_plan<D: Dialect>(
    conn: &mut Conn<D>,
    from: D::Time,
    until: D::Time,
    after: i64,
    fetch: i64,
) -> OpResult<Window>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: sqlx::Encode<'q, D::Db> + sqlx::Type<D::Db>,
    for<'r> (i64,): sqlx::FromRow<'r, <D::Db as Database>::Row>,
{
    if !D::PLANS_WINDOWS {
        return Ok(Window::ByIndex);
    }
    let (max_id,) = sqlx::query_as::<_, (i64,)>(sql::MAX_TASK_ID)
        .fetch_one(&mut *conn)
        .await?;
    let crossover = window_crossover(fetch, max_id);
    let (in_window,) = sqlx::query_as::<_, (i64,)>(sql::COUNT_EXPIRING_UP_TO)
        .bind(from)
        .bind(until)
        .bind(after)
        .bind(crossover)
        .fetch_one(&mut *conn)
        .await?;
    Ok(if in_window < crossover {
        Window::ByIndex
    } else {
        Window::ByScan
    })
}

/// How many tasks in a window make walking the order's index the cheaper
/// plan (see [`window_plan`]); never below a few pages.
fn window_crossover(fetch: i64, tasks: i64) -> i64 {
    let product = (fetch.max(1) as f64) * (tasks.max(0) as f64) / 5.0;
    (product.sqrt() as i64).max(4 * fetch.max(1))
}

/// `[expires_after, expires_before)` as stored times, a missing bound being
/// the end of the time range; `None` without a filter.
fn expiry_window<D: Dialect>(filter: &TaskFilter) -> Option<(D::Time, D::Time)> {
    if filter.expires_after.is_none() && filter.expires_before.is_none() {
        return None;
    }
    let from = filter.expires_after.unwrap_or(Timestamp::MIN);
    let until = filter.expires_before.unwrap_or(Timestamp::MAX);
    Some((D::Time::encode(from), D::Time::encode(until)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(sort: TaskSort, direction: SortDirection, range: Range) -> Shape {
        Shape {
            sort,
            direction,
            range,
            window: Window::None,
            status: None,
            priority_min: false,
            priority_max: false,
            search: None,
            tie_hint: false,
            labels: 0,
            as_of: false,
            count: false,
        }
    }

    #[test]
    fn a_listing_by_id_reads_as_it_always_has() {
        let plain = shape(TaskSort::Id, SortDirection::Asc, Range::Id);
        assert_eq!(
            plain.statement(),
            "SELECT id, title, description, expiry_dt, create_dt, update_dt, status, \
             completed_dt, priority, labels FROM task WHERE id > ? ORDER BY id LIMIT ? OFFSET ?"
        );
        let windowed = Shape {
            window: Window::ByIndex,
            ..plain
        };
        assert!(
            windowed
                .statement()
                .contains("WHERE id > ? AND expiry_dt >= ? AND expiry_dt < ? ORDER BY id LIMIT"),
            "{}",
            windowed.statement()
        );
        let counted = Shape {
            count: true,
            ..plain
        };
        assert_eq!(counted.statement(), "SELECT COUNT(*) FROM task");
    }

    #[test]
    fn each_label_is_one_lookup_term_bound_after_the_window() {
        let labelled = Shape {
            window: Window::ByIndex,
            labels: 2,
            priority_min: false,
            priority_max: false,
            search: None,
            tie_hint: false,
            as_of: true,
            ..shape(TaskSort::ExpiryDt, SortDirection::Asc, Range::Ties)
        };
        let probe = "EXISTS (SELECT 1 FROM task_label WHERE label_key = ? AND task_id = task.id)";
        assert!(
            labelled.statement().contains(&format!(
                "WHERE expiry_dt = ? AND id > ? AND expiry_dt >= ? AND expiry_dt < ? AND \
                 {probe} AND {probe} AND update_dt <= ? ORDER BY"
            )),
            "{}",
            labelled.statement()
        );
        // By id, the first label's rows lead, in task id order.
        let by_id = Shape {
            labels: 2,
            ..shape(TaskSort::Id, SortDirection::Desc, Range::Id)
        };
        assert!(
            by_id.statement().contains(&format!(
                "FROM task_label JOIN task ON id = task_id WHERE task_id < ? AND \
                 label_key = ? AND {probe} ORDER BY task_id DESC LIMIT"
            )),
            "{}",
            by_id.statement()
        );
        let lookup = "id IN (SELECT task_id FROM task_label WHERE label_key = ?)";
        let total = Shape {
            count: true,
            labels: 1,
            ..shape(TaskSort::Id, SortDirection::Asc, Range::Id)
        };
        assert_eq!(
            total.statement(),
            format!("SELECT COUNT(*) FROM task WHERE {lookup}")
        );
    }

    #[test]
    fn each_part_of_a_descending_walk_flips_its_comparisons_and_keeps_the_tail_last() {
        let desc = |range| shape(TaskSort::ExpiryDt, SortDirection::Desc, range).statement();
        assert!(
            desc(Range::Ties)
                .contains("WHERE expiry_dt = ? AND id < ? ORDER BY expiry_dt DESC, id DESC")
        );
        assert!(
            desc(Range::Beyond).contains("WHERE expiry_dt < ? ORDER BY expiry_dt DESC, id DESC")
        );
        assert!(
            desc(Range::TailAfter).contains("WHERE expiry_dt IS NULL AND id < ? ORDER BY id DESC")
        );
        let filtered = Shape {
            status: Some(TaskStatus::Done),
            as_of: true,
            ..shape(TaskSort::UpdateDt, SortDirection::Asc, Range::Beyond)
        };
        assert!(
            filtered.statement().contains(
                "WHERE update_dt > ? AND RTRIM(status) = 'done' AND update_dt <= ? ORDER BY update_dt, id"
            ),
            "{}",
            filtered.statement()
        );
    }
}

#[cfg(test)]
mod search {
    use super::*;

    fn searched(index: TextIndex, sort: TaskSort, count: bool) -> Shape {
        Shape {
            sort,
            direction: SortDirection::Desc,
            range: if sort == TaskSort::Id {
                Range::Id
            } else {
                Range::Beyond
            },
            window: Window::ByScan,
            status: Some(TaskStatus::Open),
            priority_min: true,
            priority_max: true,
            search: Some(index),
            tie_hint: false,
            labels: 0,
            as_of: false,
            count,
        }
    }

    #[test]
    fn the_search_is_bound_first_and_the_priority_bounds_after_the_window() {
        let by_id = searched(TextIndex::Fts5, TaskSort::Id, false).statement();
        assert!(
            by_id.contains(
                "FROM (SELECT rowid AS hit FROM task_fts WHERE task_fts MATCH ?) JOIN task ON \
                 id = hit WHERE hit < ? AND +expiry_dt >= ? AND +expiry_dt < ? AND \
                 RTRIM(status) <> 'done' AND +priority >= ? AND +priority <= ? ORDER BY hit DESC"
            ),
            "{by_id}"
        );
        let counted = searched(TextIndex::Fts5, TaskSort::Id, true).statement();
        assert_eq!(
            counted,
            "SELECT COUNT(*) FROM task WHERE id IN (SELECT rowid FROM task_fts WHERE task_fts \
             MATCH ?) AND +expiry_dt >= ? AND +expiry_dt < ? AND RTRIM(status) <> 'done' AND \
             +priority >= ? AND +priority <= ?"
        );
        let keyed = searched(TextIndex::InnoDb, TaskSort::Priority, false).statement();
        assert!(
            keyed.contains(
                "FROM task WHERE MATCH (search_text) AGAINST (? IN BOOLEAN MODE) AND priority < ? \
                 AND +expiry_dt"
            ),
            "{keyed}"
        );
        let counted = searched(TextIndex::InnoDb, TaskSort::Id, true).statement();
        assert!(
            counted.starts_with(
                "SELECT COUNT(*) FROM task WHERE MATCH (search_text) AGAINST (? IN BOOLEAN MODE) AND"
            ),
            "{counted}"
        );
    }
}

#[cfg(test)]
mod plans;
