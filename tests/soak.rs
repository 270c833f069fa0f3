//! `make soak`: the release server as a child process on a fresh MariaDB
//! database, under mixed load for `SOAK_DURATION` (default 10m), then an
//! overload burst of 10x the measured sustainable rate for `SOAK_BURST`
//! (default 20s, `0s` skips it). Ignored by `make test`: it takes minutes.
//!
//! Asserts: no 5xx but overload 503s with `Retry-After`, no transport errors;
//! every warning that fell due produced exactly once (checked in the
//! database); idle and slow clients disconnected by the server; descriptors
//! and RSS grow under 10 % after the first minute; during the burst only 2xx
//! or 503/429 with `Retry-After`, RSS bounded, and a normal request succeeds at
//! once afterwards.

#[path = "common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use common::{Backend, TestDatabase};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::mysql::MySqlPoolOptions;

/// Warnings come this long before expiry; short, so the soak sees many.
const WARN_BEFORE: &str = "2s";
/// Mixed-load tasks kept around; bounded so the expiry cache stays flat and
/// any RSS growth is the server's, not the data set's.
const POOL_TARGET: usize = 500;
/// A connection the server should have closed (header-read timeout 10 s)
/// but still holds after this long is a failure.
const HELD_TOO_LONG: Duration = Duration::from_secs(30);

fn env_duration(name: &str, default: &str) -> Duration {
    let raw = std::env::var(name).unwrap_or_else(|_| default.to_owned());
    humantime::parse_duration(&raw).unwrap_or_else(|err| panic!("{name}={raw}: {err}"))
}

fn client() -> Client {
    // Shorter than the server's 10 s idle timeout, so a pooled connection is
    // never reused just as the server closes it.
    Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// Counts by request kind and outcome, latencies of accepted requests, and
/// every outcome that breaks the contract.
#[derive(Default)]
struct Stats {
    counts: Mutex<BTreeMap<(&'static str, String), u64>>,
    latencies: Mutex<BTreeMap<&'static str, Vec<u32>>>,
    bad: Mutex<Vec<String>>,
}

impl Stats {
    fn record(
        &self,
        kind: &'static str,
        started: Instant,
        result: Result<Response, reqwest::Error>,
    ) -> Option<Response> {
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        let (outcome, response) = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                if (status == 503 || status == 429) && retry_after {
                    (format!("{status} shed"), Some(response))
                } else {
                    if status >= 500 || status == 429 {
                        self.bad
                            .lock()
                            .unwrap()
                            .push(format!("{kind}: {status} (Retry-After: {retry_after})"));
                    }
                    if (200..300).contains(&status) {
                        self.latencies
                            .lock()
                            .unwrap()
                            .entry(kind)
                            .or_default()
                            .push(micros);
                    }
                    (status.to_string(), Some(response))
                }
            }
            Err(err) => {
                self.bad.lock().unwrap().push(format!("{kind}: {err:?}"));
                ("transport error".to_owned(), None)
            }
        };
        *self
            .counts
            .lock()
            .unwrap()
            .entry((kind, outcome))
            .or_default() += 1;
        response.filter(|r| r.status().is_success())
    }

    fn count(&self, kind: &'static str, outcome: &str) {
        *self
            .counts
            .lock()
            .unwrap()
            .entry((kind, outcome.to_owned()))
            .or_default() += 1;
    }

    fn print(&self, title: &str) {
        println!("\n{title}");
        println!(
            "{:<16} {:<16} {:>9} {:>9} {:>9}",
            "kind", "outcome", "count", "p50 ms", "p99 ms"
        );
        let latencies = self.latencies.lock().unwrap();
        for ((kind, outcome), count) in self.counts.lock().unwrap().iter() {
            let (p50, p99) = if outcome.starts_with('2') {
                latencies
                    .get(kind)
                    .map(|l| (percentile(l, 50.0), percentile(l, 99.0)))
                    .map(|(a, b)| (format!("{a:.1}"), format!("{b:.1}")))
                    .unwrap_or_default()
            } else {
                Default::default()
            };
            println!("{kind:<16} {outcome:<16} {count:>9} {p50:>9} {p99:>9}");
        }
    }
}

/// Milliseconds at the given percentile.
fn percentile(micros: &[u32], pct: f64) -> f64 {
    if micros.is_empty() {
        return 0.0;
    }
    let mut sorted = micros.to_vec();
    sorted.sort_unstable();
    let index = ((pct / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

/// The server process; killed when dropped, even when the soak panics.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let bin = std::env::var("SOAK_SERVER_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_taskman").to_owned());
        let log_path = std::env::temp_dir().join(format!("taskman-soak-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("server log");
        println!("server: {bin} on port {port}, log {}", log_path.display());
        let child = Command::new(bin)
            .args(["--database-url", database_url])
            .args(["--bind-addr", &format!("127.0.0.1:{port}")])
            .args(["--warn-before", WARN_BEFORE])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start server");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Open descriptors and resident memory in KiB.
    fn usage(&self) -> (usize, u64) {
        let pid = self.pid();
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0);
        let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0);
        (fds, rss)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn far_expiry() -> Value {
    if fastrand::bool() {
        json!("2099-01-01T00:00:00Z")
    } else {
        Value::Null
    }
}

fn pick(pool: &Mutex<Vec<i64>>) -> Option<i64> {
    let pool = pool.lock().unwrap();
    (!pool.is_empty()).then(|| pool[fastrand::usize(..pool.len())])
}

fn forget(pool: &Mutex<Vec<i64>>, id: i64) {
    pool.lock().unwrap().retain(|&x| x != id);
}

/// Reads, creates, replaces, patches, bulk replaces and deletes on tasks whose
/// expiry is far away or absent, so they never produce a warning.
async fn mixed_worker(
    base: String,
    pool: Arc<Mutex<Vec<i64>>>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
) {
    let client = client();
    while !stop.load(Ordering::Relaxed) {
        let roll = fastrand::u32(0..100);
        let full = pool.lock().unwrap().len() >= POOL_TARGET;
        let Some(id) = pick(&pool).filter(|_| !(45..65).contains(&roll)) else {
            if full {
                if let Some(id) = pick(&pool) {
                    forget(&pool, id);
                    let started = Instant::now();
                    let result = client.delete(format!("{base}/v1/tasks/{id}")).send().await;
                    stats.record("delete", started, result);
                }
                continue;
            }
            let started = Instant::now();
            let body =
                json!({"title": "soak", "description": "mixed load", "expiry_dt": far_expiry()});
            let result = client
                .post(format!("{base}/v1/tasks"))
                .json(&body)
                .send()
                .await;
            if let Some(response) = stats.record("create", started, result)
                && let Ok(task) = response.json::<Value>().await
                && let Some(id) = task["id"].as_i64()
            {
                pool.lock().unwrap().push(id);
            }
            continue;
        };
        let started = Instant::now();
        let task_url = format!("{base}/v1/tasks/{id}");
        let (kind, result) = match roll {
            0..30 => ("get", client.get(&task_url).send().await),
            30..45 => (
                "list",
                client.get(format!("{base}/v1/tasks?limit=20")).send().await,
            ),
            65..75 => {
                let body = json!({"title": "soak replaced", "expiry_dt": far_expiry()});
                ("put", client.put(&task_url).json(&body).send().await)
            }
            75..85 => {
                let body = json!({"description": format!("patched {}", fastrand::u32(..))});
                let request = client
                    .patch(&task_url)
                    .header("content-type", "application/merge-patch+json")
                    .body(body.to_string());
                ("patch", request.send().await)
            }
            85..92 => {
                let items: Vec<Value> = (0..3)
                    .filter_map(|_| pick(&pool))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .map(|id| json!({"id": id, "title": "soak bulk", "expiry_dt": far_expiry()}))
                    .collect();
                let body = json!({"tasks": items});
                (
                    "bulk_put",
                    client
                        .put(format!("{base}/v1/tasks"))
                        .json(&body)
                        .send()
                        .await,
                )
            }
            92..97 => {
                forget(&pool, id);
                ("delete", client.delete(&task_url).send().await)
            }
            _ => {
                let other = pick(&pool).unwrap_or(id);
                forget(&pool, id);
                forget(&pool, other);
                let url = format!("{base}/v1/tasks?ids={id},{other}");
                ("delete_ids", client.delete(url).send().await)
            }
        };
        stats.record(kind, started, result);
    }
}

/// One task a second that falls due during the soak: most expire a few
/// seconds ahead (an `expiring` warning), every fifth is already past (an
/// `expired` one). None is touched again, so each must be warned exactly once.
async fn expirer(
    base: String,
    expected: Arc<Mutex<Vec<i64>>>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
) {
    let client = client();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        n += 1;
        let offset = if n.is_multiple_of(5) { -1 } else { 4 };
        let expiry = (Utc::now() + chrono::Duration::seconds(offset))
            .to_rfc3339_opts(SecondsFormat::Micros, true);
        let body = json!({"title": format!("soak expiry {n}"), "expiry_dt": expiry});
        let started = Instant::now();
        let result = client
            .post(format!("{base}/v1/tasks"))
            .json(&body)
            .send()
            .await;
        if let Some(response) = stats.record("create_expiring", started, result)
            && let Ok(task) = response.json::<Value>().await
            && let Some(id) = task["id"].as_i64()
        {
            expected.lock().unwrap().push(id);
        }
    }
}

/// Event-stream subscribers that connect, read for a moment and drop.
async fn stream_churn(base: String, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    let client = client();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let result = client
            .get(format!("{base}/v1/notifications/stream"))
            .send()
            .await;
        if let Some(mut response) = stats.record("stream", started, result) {
            let hold = Duration::from_millis(fastrand::u64(100..3000));
            let _ = tokio::time::timeout(hold, async {
                while let Ok(Some(_)) = response.chunk().await {}
            })
            .await;
        }
    }
}

/// Batches of connections that send nothing: the server must close each
/// within its header-read timeout.
fn idle_clients(addr: String, count: usize, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let opened = Instant::now();
        let sockets: Vec<TcpStream> = (0..count)
            .filter_map(|_| TcpStream::connect(&addr).ok())
            .collect();
        for mut socket in sockets {
            let left = HELD_TOO_LONG
                .saturating_sub(opened.elapsed())
                .max(Duration::from_millis(1));
            let _ = socket.set_read_timeout(Some(left));
            let mut buf = [0u8; 512];
            match socket.read(&mut buf) {
                Ok(_) => stats.count("idle_conn", "closed by server"),
                Err(err) if err.kind() == ErrorKind::ConnectionReset => {
                    stats.count("idle_conn", "closed by server")
                }
                Err(_) => {
                    stats.count("idle_conn", "held too long");
                    stats
                        .bad
                        .lock()
                        .unwrap()
                        .push("an idle connection held over 30 s".into());
                }
            }
        }
    }
}

/// Slowloris: request heads that never end, a header line a second.
fn slow_clients(addr: String, count: usize, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let opened = Instant::now();
        let mut sockets: Vec<TcpStream> = (0..count)
            .filter_map(|_| TcpStream::connect(&addr).ok())
            .collect();
        for socket in &mut sockets {
            let _ = socket.write_all(b"GET /v1/health HTTP/1.1\r\nHost: soak\r\n");
            let _ = socket.set_nonblocking(true);
        }
        while !sockets.is_empty() && opened.elapsed() < HELD_TOO_LONG {
            std::thread::sleep(Duration::from_secs(1));
            sockets.retain_mut(|socket| {
                let mut buf = [0u8; 512];
                match socket.read(&mut buf) {
                    Err(err) if err.kind() == ErrorKind::WouldBlock => {
                        let _ = socket.write(b"X-Slow: 1\r\n");
                        true
                    }
                    _ => {
                        stats.count("slow_conn", "closed by server");
                        false
                    }
                }
            });
        }
        for _ in &sockets {
            stats.count("slow_conn", "held too long");
            stats
                .bad
                .lock()
                .unwrap()
                .push("a slowloris connection held over 30 s".into());
        }
    }
}

#[derive(Clone, Copy)]
struct Sample {
    at: Duration,
    fds: usize,
    rss_kib: u64,
}

fn median<T: Copy + Ord>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut v: Vec<T> = values.collect();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

#[test]
#[ignore = "minutes long; run by `make soak`"]
fn soak() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let duration = env_duration("SOAK_DURATION", "10m");
    let burst = env_duration("SOAK_BURST", "20s");
    assert!(
        duration >= Duration::from_secs(90),
        "SOAK_DURATION must be at least 90s: growth is measured after the first minute"
    );
    let database = TestDatabase::create(Backend::MySql).await;
    let server = Server::start(database.url());
    let base = server.base.clone();
    let addr = base.trim_start_matches("http://").to_owned();
    common::eventually(Duration::from_secs(60), "the server to answer", || {
        let url = format!("{base}/v1/health");
        async move {
            reqwest::get(url)
                .await
                .ok()
                .filter(|r| r.status().is_success())
        }
    })
    .await;

    let mut failures: Vec<String> = Vec::new();
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let pool = Arc::new(Mutex::new(Vec::new()));
    let expected = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        tasks.push(tokio::spawn(mixed_worker(
            base.clone(),
            pool.clone(),
            stats.clone(),
            stop.clone(),
        )));
    }
    tasks.push(tokio::spawn(expirer(
        base.clone(),
        expected.clone(),
        stats.clone(),
        stop.clone(),
    )));
    for _ in 0..2 {
        tasks.push(tokio::spawn(stream_churn(
            base.clone(),
            stats.clone(),
            stop.clone(),
        )));
    }
    let mut threads = Vec::new();
    {
        let (addr, stats, stop) = (addr.clone(), stats.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            idle_clients(addr, 50, stats, stop)
        }));
    }
    {
        let (addr, stats, stop) = (addr.clone(), stats.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            slow_clients(addr, 20, stats, stop)
        }));
    }

    println!(
        "soak: {} of mixed load (4 writers/readers, 1 expiring task/s, 2 stream churners, 50 idle, 20 slowloris)",
        humantime::format_duration(duration)
    );
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < duration {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (fds, rss_kib) = server.usage();
        samples.push(Sample {
            at: start.elapsed(),
            fds,
            rss_kib,
        });
        let secs = start.elapsed().as_secs();
        if secs % 60 < 2 {
            println!("  {secs:>4} s: {fds} fds, {} MiB RSS", rss_kib / 1024);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("load task");
    }
    for thread in threads {
        thread.join().expect("load thread");
    }

    // Like with like: the median over a window just after the first minute
    // against the median over the last window, both under the same load.
    let window = Duration::from_secs(60).min((duration - Duration::from_secs(60)) / 2);
    let early: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.at >= Duration::from_secs(60) && s.at < Duration::from_secs(60) + window)
        .collect();
    let late: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.at >= duration - window)
        .collect();
    let fd_early = median(early.iter().map(|s| s.fds)).unwrap_or(0);
    let fd_late = median(late.iter().map(|s| s.fds)).unwrap_or(0);
    let rss_early = median(early.iter().map(|s| s.rss_kib)).unwrap_or(0);
    let rss_late = median(late.iter().map(|s| s.rss_kib)).unwrap_or(0);
    let rss_max = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let growth = |a: f64, b: f64| {
        if a > 0.0 {
            (b - a) / a * 100.0
        } else {
            f64::INFINITY
        }
    };
    let fd_growth = growth(fd_early as f64, fd_late as f64);
    let rss_growth = growth(rss_early as f64, rss_late as f64);
    if fd_growth >= 10.0 {
        failures.push(format!(
            "descriptors grew {fd_growth:.1} % ({fd_early} -> {fd_late})"
        ));
    }
    if rss_growth >= 10.0 {
        failures.push(format!(
            "RSS grew {rss_growth:.1} % ({rss_early} -> {rss_late} KiB)"
        ));
    }

    // Warnings, against the database: each expiring task exactly once, and
    // nothing for a task that never fell due.
    let expected: Vec<i64> = expected.lock().unwrap().clone();
    let db = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(database.url())
        .await
        .expect("database");
    let count_for = |rows: Vec<sqlx::mysql::MySqlRow>| -> BTreeMap<i64, i64> {
        rows.iter()
            .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1)))
            .collect()
    };
    // The last tasks fall due a few seconds after the load stops.
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let rows = sqlx::query("SELECT task_id, COUNT(*) FROM notification GROUP BY task_id")
            .fetch_all(&db)
            .await
            .expect("notifications");
        let seen = count_for(rows);
        if expected.iter().all(|id| seen.contains_key(id)) || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let matching = count_for(
        sqlx::query(
            "SELECT n.task_id, COUNT(*) FROM notification n \
             JOIN task t ON t.id = n.task_id AND t.expiry_dt = n.expiry_dt GROUP BY n.task_id",
        )
        .fetch_all(&db)
        .await
        .expect("matching notifications"),
    );
    let late: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(late), 0) AS SIGNED) FROM notification")
        .fetch_one(&db)
        .await
        .expect("late")
        .get(0);
    let lost = expected
        .iter()
        .filter(|id| matching.get(id) != Some(&1))
        .count();
    let duplicated = seen.values().filter(|&&c| c > 1).count();
    let unexpected = seen.keys().filter(|id| !expected.contains(id)).count();
    let seen_total: i64 = seen.values().sum();
    if lost + duplicated + unexpected > 0 {
        failures.push(format!(
            "warnings: {lost} lost, {duplicated} duplicated, {unexpected} for tasks that never fell due"
        ));
    }

    stats.print(&format!(
        "Soak: {} on MariaDB",
        humantime::format_duration(duration)
    ));
    let all: Vec<u32> = stats
        .latencies
        .lock()
        .unwrap()
        .values()
        .flatten()
        .copied()
        .collect();
    println!(
        "accepted requests: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&all, 50.0),
        percentile(&all, 99.0)
    );
    println!(
        "warnings: {} expected, {seen_total} seen ({late} late), {lost} lost, {duplicated} duplicated, {unexpected} unexpected",
        expected.len()
    );
    println!(
        "server fds:  {fd_early} at 1 min, {fd_late} at end ({fd_growth:+.1} %)\n\
         server RSS:  {:.1} MiB at 1 min, {:.1} MiB at end ({rss_growth:+.1} %), max {:.1} MiB",
        rss_early as f64 / 1024.0,
        rss_late as f64 / 1024.0,
        rss_max as f64 / 1024.0
    );
    let bad = std::mem::take(&mut *stats.bad.lock().unwrap());
    if !bad.is_empty() {
        failures.push(format!(
            "{} contract breaks during the soak; first: {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        ));
    }

    if !burst.is_zero() {
        failures.extend(overload(&server, burst).await);
    }

    drop(db);
    drop(server);
    if failures.is_empty() {
        println!("\nsoak: PASS");
    } else {
        println!("\nsoak: FAIL");
        for failure in &failures {
            println!("  - {failure}");
        }
    }
    assert!(failures.is_empty(), "soak failed: {failures:?}");
}

async fn create(client: &Client, base: &str, stats: &Stats, kind: &'static str) {
    let started = Instant::now();
    let body = json!({"title": "burst"});
    let result = client
        .post(format!("{base}/v1/tasks"))
        .json(&body)
        .send()
        .await;
    stats.record(kind, started, result);
}

/// Requests in flight from the burst's client at most: twice the server's
/// default connection cap, so that cap is reached too.
const OUTSTANDING: usize = 4096;

/// Measures the closed-loop rate of creates, then offers ten times that for
/// `length`, open loop: arrivals do not wait for answers.
async fn overload(server: &Server, length: Duration) -> Vec<String> {
    let mut failures = Vec::new();
    let base = server.base.clone();
    let calibration = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let measure = Duration::from_secs(10);
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (base, stats, stop) = (base.clone(), calibration.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let client = client();
            while !stop.load(Ordering::Relaxed) {
                create(&client, &base, &stats, "calibrate").await;
            }
        }));
    }
    tokio::time::sleep(measure).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("calibration worker");
    }
    let ok = calibration
        .latencies
        .lock()
        .unwrap()
        .get("calibrate")
        .map_or(0, Vec::len);
    let sustainable = (ok as f64 / measure.as_secs_f64()).max(1.0);
    let offered = sustainable * 10.0;
    let (_, rss_before) = server.usage();

    let stats = Arc::new(Stats::default());
    let client = client();
    let outstanding = Arc::new(tokio::sync::Semaphore::new(OUTSTANDING));
    let not_sent = Arc::new(AtomicU64::new(0));
    let mut rss_peak = rss_before;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / offered));
    let start = Instant::now();
    let mut next_sample = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < length {
        tick.tick().await;
        let Ok(permit) = outstanding.clone().try_acquire_owned() else {
            not_sent.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        sent += 1;
        let (client, base, stats) = (client.clone(), base.clone(), stats.clone());
        tokio::spawn(async move {
            create(&client, &base, &stats, "burst").await;
            drop(permit);
        });
        if Instant::now() >= next_sample {
            rss_peak = rss_peak.max(server.usage().1);
            next_sample = Instant::now() + Duration::from_millis(500);
        }
    }
    let achieved = sent as f64 / start.elapsed().as_secs_f64();
    let drained = tokio::time::timeout(
        Duration::from_secs(90),
        outstanding.acquire_many(OUTSTANDING as u32),
    )
    .await;
    rss_peak = rss_peak.max(server.usage().1);
    if drained.is_err() {
        failures.push("burst: requests still unanswered 90 s after it ended".into());
    }

    // Right after: the burst's clients gone, a fresh one, one ordinary
    // request, no retry.
    drop(client);
    let started = Instant::now();
    let after = client_fresh()
        .get(format!("{base}/v1/tasks?limit=1"))
        .send()
        .await;
    let after_ms = started.elapsed().as_secs_f64() * 1000.0;
    let after_status = after.as_ref().map(|r| r.status().as_u16()).ok();
    if after_status != Some(200) || after_ms > 1000.0 {
        failures.push(format!(
            "burst: the request right after got {after_status:?} in {after_ms:.0} ms"
        ));
    }

    stats.print(&format!(
        "Overload: {:.0} req/s sustainable (16 closed-loop creators, 10 s), {offered:.0} req/s offered for {} ({achieved:.0} req/s sent)",
        sustainable,
        humantime::format_duration(length)
    ));
    let accepted = stats
        .latencies
        .lock()
        .unwrap()
        .get("burst")
        .cloned()
        .unwrap_or_default();
    let p99 = percentile(&accepted, 99.0);
    println!(
        "burst: accepted p50 {:.1} ms, p99 {p99:.1} ms; not sent (client cap): {}; RSS {:.1} MiB before, peak {:.1} MiB; request right after: {after_status:?} in {after_ms:.1} ms",
        percentile(&accepted, 50.0),
        not_sent.load(Ordering::Relaxed),
        rss_before as f64 / 1024.0,
        rss_peak as f64 / 1024.0,
    );
    let bad = std::mem::take(&mut *stats.bad.lock().unwrap());
    if !bad.is_empty() {
        failures.push(format!(
            "burst: {} contract breaks; first: {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        ));
    }
    // Bounds: a third of the server's 30 s request timeout (the load
    // generator shares the machine, so its own queueing is in the figure),
    // and memory that at most doubles, plus slack for a small heap.
    if p99 > 10_000.0 {
        failures.push(format!(
            "burst: p99 of accepted requests {p99:.0} ms > 10 s"
        ));
    }
    if rss_peak > rss_before * 2 + 64 * 1024 {
        failures.push(format!(
            "burst: RSS peaked at {rss_peak} KiB from {rss_before} KiB"
        ));
    }
    failures
}

fn client_fresh() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}
