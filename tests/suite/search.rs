//! The list's `priority_min`/`priority_max` bounds and its text search
//! `q`: what each keeps, combined with every order, status, the expiry
//! window, cursors and `count`; rows other tools write; bad values refused
//! by name.

use serde_json::{Value, json};
use sqlx::{Connection, MySqlConnection, SqliteConnection};

use crate::common::{Backend, TestApp, json_body, problem_body, spawn_app, task_ids};

crate::on_both_backends!(
    priority_bounds_keep_tasks_with_a_priority_within_them,
    bad_bounds_and_queries_are_refused_by_name,
    a_search_finds_tasks_holding_every_word_whole_without_case_or_accents,
    query_syntax_in_q_is_plain_text,
    short_words_and_stopwords_are_not_searched_for_on_either_backend,
    a_search_keeps_every_order_and_combines_with_every_filter_and_the_count,
    a_cursor_walk_with_q_shows_each_match_once_and_its_cursor_fits_only_its_words,
    rows_other_tools_write_are_found_and_forgotten,
);

fn encoded(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// The ids a listing shows on one page of up to 1000.
async fn listed(app: &TestApp, query: &str) -> Vec<i64> {
    task_ids(&json_body(app.get(&format!("/v1/tasks?limit=1000&{query}")).await, 200).await)
}

async fn searched(app: &TestApp, q: &str) -> Vec<i64> {
    listed(app, &format!("q={}", encoded(q))).await
}

async fn create(app: &TestApp, title: &str, description: Option<&str>) -> i64 {
    let task = app
        .create_task(json!({"title": title, "description": description}))
        .await;
    task["id"].as_i64().expect("id")
}

async fn priority_bounds_keep_tasks_with_a_priority_within_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut by_priority = Vec::new();
    for priority in [None, Some(1), Some(2), Some(3), Some(4), Some(5), None] {
        let task = app
            .create_task(json!({"title": "t", "priority": priority}))
            .await;
        by_priority.push((task["id"].as_i64().unwrap(), priority));
    }
    let within = |min: i64, max: i64| -> Vec<i64> {
        by_priority
            .iter()
            .filter(|(_, p)| p.is_some_and(|p| (min..=max).contains(&p)))
            .map(|(id, _)| *id)
            .collect()
    };
    assert_eq!(listed(&app, "priority_min=4").await, within(4, 5));
    assert_eq!(listed(&app, "priority_max=2").await, within(1, 2));
    assert_eq!(
        listed(&app, "priority_min=2&priority_max=4").await,
        within(2, 4)
    );
    assert_eq!(
        listed(&app, "priority_min=3&priority_max=3").await,
        within(3, 3)
    );
    assert_eq!(
        listed(&app, "priority_min=1").await,
        within(1, 5),
        "no None"
    );
    let mut urgent_first = within(2, 4);
    urgent_first.reverse();
    assert_eq!(
        listed(
            &app,
            "priority_min=2&priority_max=4&sort=priority&order=desc"
        )
        .await,
        urgent_first
    );
    let counted = json_body(app.get("/v1/tasks?priority_max=3&count=true").await, 200).await;
    assert_eq!(counted["total"], 3, "{counted}");
}

async fn bad_bounds_and_queries_are_refused_by_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let fields = |problem: &Value| -> Vec<String> {
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    for (query, field) in [
        ("priority_min=0", "priority_min"),
        ("priority_min=6", "priority_min"),
        ("priority_min=x", "priority_min"),
        ("priority_min=2.5", "priority_min"),
        ("priority_max=-1", "priority_max"),
        ("priority_max=", "priority_max"),
        ("q=", "q"),
    ] {
        let problem = problem_body(app.get(&format!("/v1/tasks?{query}")).await, 400).await;
        assert_eq!(fields(&problem), [field], "{query}: {problem}");
    }
    // Well-formed, but nothing in it can be searched for: 422, a rule no
    // schema states (the spec's q is any string of 1 to 200 characters).
    for query in ["q=%20%20", "q=*%22-%2B", "q=ok", "q=the", "q=of%20the%20QA"] {
        let problem = problem_body(app.get(&format!("/v1/tasks?{query}")).await, 422).await;
        assert_eq!(fields(&problem), ["q"], "{query}: {problem}");
        assert_eq!(
            problem["type"], "urn:taskman:problem:unsearchable-query",
            "{query}: {problem}"
        );
    }
    let long = format!("q={}", "x".repeat(201));
    let problem = problem_body(app.get(&format!("/v1/tasks?{long}")).await, 400).await;
    assert_eq!(fields(&problem), ["q"], "{problem}");
    let long_word = format!("q={}", "x".repeat(85));
    let problem = problem_body(app.get(&format!("/v1/tasks?{long_word}")).await, 422).await;
    assert_eq!(fields(&problem), ["q"], "{problem}");
    let problem = problem_body(
        app.get("/v1/tasks?priority_min=4&priority_max=2").await,
        422,
    )
    .await;
    assert_eq!(
        problem["type"], "urn:taskman:problem:reversed-bounds",
        "{problem}"
    );
    assert_eq!(
        fields(&problem),
        ["priority_min", "priority_max"],
        "{problem}"
    );
    // Equal bounds and the longest query are fine.
    json_body(
        app.get("/v1/tasks?priority_min=4&priority_max=4").await,
        200,
    )
    .await;
    let longest = format!("q={}", "x".repeat(84) + &" abc".repeat(29));
    json_body(app.get(&format!("/v1/tasks?{longest}")).await, 200).await;
}

async fn a_search_finds_tasks_holding_every_word_whole_without_case_or_accents(backend: Backend) {
    let app = spawn_app(backend).await;
    let rent = create(&app, "Pay rent", Some("before the 5th, by bank transfer")).await;
    let both = create(&app, "Landlord", Some("pay the RENT and the deposit")).await;
    let payment = create(&app, "Payment run", Some("rental car")).await;
    let transfer = create(&app, "Überweisung prüfen", None).await;
    let upper = create(&app, "ÜBERWEISUNG senden", Some("snake_case words")).await;
    let none = create(&app, "Something else", None).await;

    assert_eq!(searched(&app, "rent").await, [rent, both]);
    assert_eq!(searched(&app, "RENT pay").await, [rent, both], "every word");
    assert_eq!(searched(&app, "pay deposit").await, [both]);
    assert_eq!(
        searched(&app, "rent bank").await,
        [rent],
        "title and description"
    );
    assert_eq!(searched(&app, "pay missing").await, Vec::<i64>::new());
    // Whole words: neither `payment` nor `rental` is `pay` or `rent`.
    assert_eq!(searched(&app, "payment").await, [payment]);
    assert_eq!(
        searched(&app, "ren").await,
        Vec::<i64>::new(),
        "no prefixes"
    );
    assert_eq!(searched(&app, "überweisung").await, [transfer, upper]);
    assert_eq!(searched(&app, "Überweisung").await, [transfer, upper]);
    assert_eq!(
        searched(&app, "uberweisung").await,
        [transfer, upper],
        "accents"
    );
    assert_eq!(searched(&app, "PRÜFEN").await, [transfer]);
    assert_eq!(
        searched(&app, "snake_case").await,
        [upper],
        "`_` is in a word"
    );
    assert_eq!(searched(&app, "snake").await, Vec::<i64>::new());
    let _ = none;
}

async fn query_syntax_in_q_is_plain_text(backend: Backend) {
    let app = spawn_app(backend).await;
    let rent = create(&app, "Pay rent", None).await;
    let near = create(&app, "pay near rent", Some("AND NOT \"quoted\"")).await;
    let payment = create(&app, "payment", None).await;
    let _other = create(&app, "rent due", None).await;
    for q in [
        "\"pay rent\"",
        "\"pay",
        "pay\" rent",
        "pay*",
        "+pay +rent",
        "-pay rent",
        "pay OR rent",
        "(pay) rent",
        "pay:rent",
        "pay'rent",
        "rent^ pay~",
    ] {
        assert_eq!(searched(&app, q).await, [rent, near], "{q}");
    }
    assert_eq!(
        searched(&app, "pay*").await,
        [rent, near],
        "`*` is no prefix: `payment` is not found"
    );
    assert!(!searched(&app, "pay*").await.contains(&payment));
    // Operator words of either backend are words like any other.
    assert_eq!(searched(&app, "NEAR(pay rent)").await, [near]);
    assert_eq!(searched(&app, "pay AND rent").await, [near]);
    assert_eq!(searched(&app, "pay NOT rent").await, [near]);
    assert_eq!(searched(&app, "\"quoted\"").await, [near]);
    assert_eq!(searched(&app, "quoted\"\"").await, [near]);
}

async fn short_words_and_stopwords_are_not_searched_for_on_either_backend(backend: Backend) {
    let app = spawn_app(backend).await;
    let qa = create(&app, "QA review of the invoice", None).await;
    let plain = create(&app, "invoice", None).await;
    let _other = create(&app, "review", None).await;
    // `QA` (two letters), `of` and `the` (stopwords) are left out: InnoDB
    // cannot find them, so neither backend searches for them.
    assert_eq!(searched(&app, "QA invoice").await, [qa, plain]);
    assert_eq!(searched(&app, "the invoice").await, [qa, plain]);
    assert_eq!(searched(&app, "review of the invoice").await, [qa]);
    assert_eq!(searched(&app, "42 invoice").await, [qa, plain]);
}

async fn a_search_keeps_every_order_and_combines_with_every_filter_and_the_count(backend: Backend) {
    let app = spawn_app(backend).await;
    // 24 tasks: every third mentions the invoice; priorities, expiries and
    // states vary independently.
    let mut tasks = Vec::new();
    for n in 0..24_i64 {
        let title = if n % 3 == 0 {
            format!("task {n} invoice")
        } else {
            format!("task {n}")
        };
        let priority = (n % 4 != 0).then_some(n % 5 + 1);
        let expiry = (n % 5 != 0).then(|| format!("2031-01-{:02}T00:00:00Z", 28 - n));
        let task = app
            .create_task(json!({"title": title, "priority": priority, "expiry_dt": expiry}))
            .await;
        let id = task["id"].as_i64().unwrap();
        if n % 2 == 0 {
            let done = app
                .client
                .post(app.url(&format!("/v1/tasks/{id}/complete")))
                .send()
                .await
                .unwrap();
            assert_eq!(done.status(), 200);
        }
        tasks.push((id, n));
    }
    let filters = [
        "",
        "&status=done",
        "&status=open",
        "&priority_min=2",
        "&priority_min=2&priority_max=4&status=done",
        "&expires_after=2031-01-10T00:00:00Z&expires_before=2031-01-25T00:00:00Z",
        "&expires_after=2031-01-10T00:00:00Z&priority_max=3",
    ];
    for filter in filters {
        let everything = listed(&app, &filter[filter.len().min(1)..]).await;
        let with_q = listed(&app, &format!("q=invoice{filter}")).await;
        let expected: Vec<i64> = everything
            .iter()
            .copied()
            .filter(|id| tasks.iter().any(|(t, n)| t == id && n % 3 == 0))
            .collect();
        assert_eq!(with_q, expected, "{filter}");
        let counted = json_body(
            app.get(&format!("/v1/tasks?q=invoice{filter}&count=true&limit=1"))
                .await,
            200,
        )
        .await;
        assert_eq!(counted["total"], expected.len(), "{filter}: {counted}");
        for sort in ["id", "expiry_dt", "update_dt", "create_dt", "priority"] {
            for order in ["asc", "desc"] {
                let ordered = format!("sort={sort}&order={order}{filter}");
                let all = listed(&app, &ordered).await;
                let expected: Vec<i64> = all
                    .into_iter()
                    .filter(|id| tasks.iter().any(|(t, n)| t == id && n % 3 == 0))
                    .collect();
                assert_eq!(
                    listed(&app, &format!("q=invoice&{ordered}")).await,
                    expected,
                    "{ordered}"
                );
                // The same pages by offset.
                let second = listed(&app, &format!("q=invoice&{ordered}&offset=2")).await;
                assert_eq!(second, expected[expected.len().min(2)..], "{ordered}");
            }
        }
    }
}

async fn a_cursor_walk_with_q_shows_each_match_once_and_its_cursor_fits_only_its_words(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let mut matching = Vec::new();
    for n in 0..30_i64 {
        let title = if n % 2 == 0 {
            format!("walk {n} invoice paid")
        } else {
            format!("walk {n} invoice")
        };
        let task = app
            .create_task(json!({"title": title, "priority": n % 5 + 1}))
            .await;
        if n % 2 == 0 {
            matching.push(task["id"].as_i64().unwrap());
        }
    }
    for query in [
        "q=paid%20invoice",
        "q=paid%20invoice&order=desc",
        "q=paid%20invoice&sort=priority&order=desc",
        "q=paid%20invoice&sort=update_dt",
    ] {
        let mut seen = Vec::new();
        let mut path = format!("/v1/tasks?limit=4&{query}");
        loop {
            let page = json_body(app.get(&path).await, 200).await;
            seen.extend(task_ids(&page));
            let Some(cursor) = page["next_cursor"].as_str() else {
                break;
            };
            path = format!("/v1/tasks?limit=4&{query}&cursor={cursor}");
            assert!(seen.len() <= matching.len(), "{query}: the walk repeats");
        }
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, matching, "{query}: each match once");
    }
    let first = json_body(app.get("/v1/tasks?limit=2&q=paid%20invoice").await, 200).await;
    let cursor = first["next_cursor"].as_str().expect("a cursor");
    // The same words, written otherwise: the same listing.
    let same = app
        .get(&format!(
            "/v1/tasks?limit=2&q=INVOICE,%20paid&cursor={cursor}"
        ))
        .await;
    json_body(same, 200).await;
    for other in ["q=invoice", "", "q=paid%20invoice&priority_min=1"] {
        let problem = problem_body(
            app.get(&format!("/v1/tasks?limit=2&{other}&cursor={cursor}"))
                .await,
            400,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "cursor", "{other}");
    }
}

/// Plain SQL on each backend: the statement, then an id bound to it.
async fn sql(app: &TestApp, backend: Backend, statement: &'static str, id: Option<i64>) {
    match backend {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(app.database.url()).await.unwrap();
            let query = sqlx::query(statement);
            let query = match id {
                Some(id) => query.bind(id),
                None => query,
            };
            query.execute(&mut conn).await.unwrap();
        }
        Backend::MySql => {
            let mut conn = MySqlConnection::connect(app.database.url()).await.unwrap();
            let query = sqlx::query(statement);
            let query = match id {
                Some(id) => query.bind(id),
                None => query,
            };
            query.execute(&mut conn).await.unwrap();
        }
    }
}

async fn rows_other_tools_write_are_found_and_forgotten(backend: Backend) {
    let app = spawn_app(backend).await;
    let ours = create(&app, "Quarterly report", None).await;
    sql(
        &app,
        backend,
        "INSERT INTO task (title, description) VALUES ('Budget review', 'QUARTERLY numbers')",
        None,
    )
    .await;
    let theirs = searched(&app, "budget").await;
    assert_eq!(theirs.len(), 1, "an inserted row is found");
    let theirs = theirs[0];
    assert_eq!(searched(&app, "quarterly").await, [ours, theirs]);

    sql(
        &app,
        backend,
        "UPDATE task SET title = 'Forecast review' WHERE id = ?",
        Some(theirs),
    )
    .await;
    assert_eq!(
        searched(&app, "budget").await,
        Vec::<i64>::new(),
        "old title"
    );
    assert_eq!(searched(&app, "forecast").await, [theirs], "new title");
    assert_eq!(searched(&app, "quarterly").await, [ours, theirs]);

    // taskman's own changes, too.
    let renamed = app
        .patch_json(
            &format!("/v1/tasks/{ours}"),
            &json!({"title": "Annual report"}),
        )
        .await;
    json_body(renamed, 200).await;
    assert_eq!(searched(&app, "quarterly").await, [theirs]);
    assert_eq!(searched(&app, "annual").await, [ours]);

    sql(&app, backend, "DELETE FROM task WHERE id = ?", Some(theirs)).await;
    assert_eq!(
        searched(&app, "forecast").await,
        Vec::<i64>::new(),
        "deleted"
    );
    let deleted = app.delete(&format!("/v1/tasks/{ours}")).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(searched(&app, "annual").await, Vec::<i64>::new());
}
