//! What SQLite plans for each part of a page in every order: one walk of
//! the order's index (or the primary key) in its order, no sort; and for
//! a label, a seek of task_label's primary key.

use sqlx::Connection;

use super::super::text_index::TextIndex;
use super::*;

async fn plan(conn: &mut sqlx::SqliteConnection, statement: &str) -> String {
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {statement}"
    )));
    for _ in 0..statement.matches('?').count() {
        query = query.bind(0);
    }
    let rows: Vec<(i64, i64, i64, String)> = query.fetch_all(conn).await.unwrap();
    rows.into_iter()
        .map(|row| row.3)
        .collect::<Vec<_>>()
        .join("; ")
}

async fn not_null(conn: &mut sqlx::SqliteConnection, sort: TaskSort) -> bool {
    let column = sort_column(sort).unwrap().column;
    sqlx::query_scalar::<_, i64>("SELECT \"notnull\" FROM pragma_table_info('task') WHERE name = ?")
        .bind(column)
        .fetch_one(conn)
        .await
        .unwrap()
        == 1
}

/// A search by id walks FTS5's matches in id order and stops with the
/// page, in both directions: it neither collects nor sorts them all.
#[tokio::test]
async fn a_search_by_id_walks_the_text_index_in_order() {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run(&mut conn)
        .await
        .unwrap();
    for direction in [SortDirection::Asc, SortDirection::Desc] {
        for status in [None, Some(TaskStatus::Done)] {
            let shape = Shape {
                sort: TaskSort::Id,
                direction,
                range: Range::Id,
                window: Window::None,
                status,
                priority_min: true,
                priority_max: false,
                search: Some(TextIndex::Fts5),
                tie_hint: false,
                labels: 0,
                as_of: false,
                count: false,
            };
            let plan = plan(&mut conn, shape.statement()).await;
            assert!(
                plan.starts_with("SCAN task_fts VIRTUAL TABLE INDEX")
                    && plan.contains("SEARCH task USING INTEGER PRIMARY KEY (rowid=?)")
                    && !plan.contains("B-TREE"),
                "{shape:?}: {plan}"
            );
        }
    }
}

#[tokio::test]
async fn every_part_of_every_order_is_one_index_search_without_a_sort() {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run(&mut conn)
        .await
        .unwrap();
    let sorts = [
        TaskSort::Id,
        TaskSort::ExpiryDt,
        TaskSort::UpdateDt,
        TaskSort::CreateDt,
        TaskSort::Priority,
    ];
    let ranges = [
        Range::Keyed,
        Range::Ties,
        Range::Beyond,
        Range::Tail,
        Range::TailAfter,
    ];
    for sort in sorts {
        for direction in [SortDirection::Asc, SortDirection::Desc] {
            for status in [None, Some(TaskStatus::Open), Some(TaskStatus::Done)] {
                // The last two: priority bounds, which must not take the
                // plan from the order's index either.
                for (as_of, bounded) in [(false, false), (true, false), (false, true), (true, true)]
                {
                    let ranges: &[Range] = match sort {
                        TaskSort::Id => &[Range::Id],
                        _ => &ranges,
                    };
                    for &range in ranges {
                        let shape = Shape {
                            sort,
                            direction,
                            range,
                            window: Window::None,
                            status,
                            priority_min: bounded,
                            priority_max: bounded,
                            search: None,
                            tie_hint: false,
                            labels: 0,
                            as_of,
                            count: false,
                        };
                        let plan = plan(&mut conn, shape.statement()).await;
                        let tail = matches!(range, Range::Tail | Range::TailAfter);
                        if tail && not_null(&mut conn, sort).await {
                            // `IS NULL` on a NOT NULL column: SQLite
                            // folds it to false and reads nothing (15
                            // VM steps over 300k tasks, measured),
                            // whatever the plan says.
                            assert!(
                                plan == "SCAN task" || plan.contains("PRIMARY KEY (rowid"),
                                "{shape:?}: {plan}"
                            );
                            continue;
                        }
                        let index = sort_column(sort).map_or("PRIMARY KEY", |c| c.index);
                        // A first page walks the index from its end
                        // (a SCAN in order that stops after the
                        // page); every other part seeks into it.
                        let walk = if range == Range::Keyed {
                            "SCAN task USING"
                        } else {
                            "SEARCH task USING"
                        };
                        assert!(
                            (plan.starts_with(walk) || plan.starts_with("SEARCH task USING"))
                                && plan.contains(index)
                                && !plan.contains("B-TREE")
                                && !plan.contains(';'),
                            "{shape:?}: {plan}"
                        );
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn every_label_is_a_seek_of_the_label_index_in_every_part_of_every_order() {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run(&mut conn)
        .await
        .unwrap();
    let sorts = [
        (TaskSort::Id, &[Range::Id][..]),
        (
            TaskSort::ExpiryDt,
            &[
                Range::Keyed,
                Range::Ties,
                Range::Beyond,
                Range::Tail,
                Range::TailAfter,
            ][..],
        ),
        (TaskSort::Priority, &[Range::Keyed, Range::Beyond][..]),
    ];
    for (sort, ranges) in sorts {
        for &range in ranges {
            for direction in [SortDirection::Asc, SortDirection::Desc] {
                for labels in [1, 2] {
                    for count in [false, true] {
                        let shape = Shape {
                            sort,
                            direction,
                            range,
                            window: Window::None,
                            status: Some(TaskStatus::Open),
                            priority_min: false,
                            priority_max: false,
                            search: None,
                            tie_hint: false,
                            labels,
                            as_of: false,
                            count,
                        };
                        let plan = plan(&mut conn, shape.statement()).await;
                        // A seek by key alone (a count's list; a page by
                        // id's leading label, walked in task id order) or by
                        // key and task (a probe for the row in hand, through
                        // either of task_label's indexes).
                        let seeks = [
                            "SEARCH task_label USING PRIMARY KEY (label_key=?",
                            "SEARCH task_label EXISTS USING PRIMARY KEY (label_key=? AND task_id=?)",
                            "SEARCH task_label EXISTS USING COVERING INDEX task_label_task \
                             (task_id=? AND label_key=?)",
                        ]
                        .iter()
                        .map(|seek| plan.matches(seek).count())
                        .sum::<usize>();
                        assert!(
                            seeks == labels && !plan.contains("SCAN task_label"),
                            "{shape:?}: {plan}"
                        );
                        if !count {
                            // A page never collects and sorts its matches.
                            assert!(
                                !plan.contains("B-TREE") && !plan.contains("LIST SUBQUERY"),
                                "{shape:?}: {plan}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The plans MariaDB makes for the ties part: run when `TEST_MYSQL_URL`
/// names a server, on a throwaway database.
mod mysql_plans {
    use sqlx::{Connection, Executor, MySqlConnection, Row};

    use super::*;

    /// 10,000 tasks with one expiry, one priority and one creation and
    /// update time: the ties part of a deep page, without the hint,
    /// reads as `ref` on the key and walks the ties from the far end.
    #[tokio::test]
    async fn the_ties_part_is_a_range_on_the_orders_index() {
        let Ok(server) = std::env::var("TEST_MYSQL_URL") else {
            eprintln!("skipped: TEST_MYSQL_URL is not set");
            return;
        };
        let server = server.trim_end_matches('/').to_owned();
        let name = format!("taskman_plans_{}", uuid::Uuid::new_v4().simple());
        let mut admin = MySqlConnection::connect(&server).await.unwrap();
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}`")))
            .await
            .unwrap();
        let mut conn = MySqlConnection::connect(&format!("{server}/{name}"))
            .await
            .unwrap();
        crate::store::mysql_migrations::run(&sqlx::migrate!("./migrations/mysql"), &mut conn)
            .await
            .unwrap();
        conn.execute(
            "INSERT INTO task (title, expiry_dt, priority, create_dt, update_dt) \
             SELECT 't', '2030-01-01', 3, '2026-01-01', '2026-01-01' FROM \
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
              SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL \
              SELECT 8 UNION ALL SELECT 9) a, \
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
              SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL \
              SELECT 8 UNION ALL SELECT 9) b, \
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
              SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL \
              SELECT 8 UNION ALL SELECT 9) c, \
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
              SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL \
              SELECT 8 UNION ALL SELECT 9) d",
        )
        .await
        .unwrap();
        conn.execute("ANALYZE TABLE task").await.unwrap();
        let mut failures = Vec::new();
        for sort in [
            TaskSort::ExpiryDt,
            TaskSort::UpdateDt,
            TaskSort::CreateDt,
            TaskSort::Priority,
        ] {
            let column = sort_column(sort).unwrap();
            for direction in [SortDirection::Asc, SortDirection::Desc] {
                for status in [None, Some(TaskStatus::Open)] {
                    let shape = Shape {
                        sort,
                        direction,
                        range: Range::Ties,
                        window: Window::None,
                        status,
                        priority_min: false,
                        priority_max: false,
                        search: None,
                        tie_hint: <crate::store::mysql::MySqlDialect as Dialect>::HINTS_TIES,
                        labels: 0,
                        as_of: true,
                        count: false,
                    };
                    let explain = format!("EXPLAIN {}", shape.statement());
                    let query = sqlx::query(sqlx::AssertSqlSafe(explain));
                    let key = match sort {
                        TaskSort::ExpiryDt => "2030-01-01 00:00:00",
                        TaskSort::Priority => "3",
                        _ => "2026-01-01 00:00:00",
                    };
                    let plan = query
                        .bind(key)
                        .bind(5_000_i64)
                        .bind("2031-01-01 00:00:00")
                        .bind(51_i64)
                        .bind(0_i64)
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                    let access: String = plan.try_get("type").unwrap();
                    let key: Option<String> = plan.try_get("key").unwrap();
                    if access != "range" || key.as_deref() != Some(column.index) {
                        failures.push(format!(
                            "{sort:?} {direction:?} {status:?}: {access} {key:?}"
                        ));
                    }
                }
            }
        }
        admin
            .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE `{name}`")))
            .await
            .unwrap();
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
