//! The README's examples, run: every `console` block's commands in order,
//! against a fresh server, each output compared with the one shown (ids,
//! times, versions and lengths aside). A README that drifts from the
//! service fails here.
//!
//! Before a block, `<!-- readme: server FLAGS -->` starts a fresh server
//! (and database) with those flags for it and the blocks after;
//! `<!-- readme: skip -->` leaves the block out (commands that start the
//! service itself); `<!-- readme: sqlite-server -->` is `server` on the
//! SQLite run only (commands that only SQLite has). The commands run in
//! `bash`, in a fresh directory, with the README's address replaced by the
//! test server's, `taskman` on the `PATH` and `DATABASE_URL` set to the test
//! server's database, as a shell that started the server would have it.
//! `README_ACTUAL=1` prints what each command answered, for updating the
//! README.

use std::collections::HashMap;
use std::process::Command;

use crate::common::{Backend, TestDatabase, start};

const README: &str = include_str!("../../README.md");
const ADDRESS: &str = "127.0.0.1:8080";

crate::on_both_backends!(the_readme_examples_answer_as_shown);

struct Block {
    server: Option<Vec<String>>,
    skip: bool,
    sqlite_only: bool,
    steps: Vec<Step>,
    line: usize,
}

struct Step {
    command: String,
    expected: Vec<String>,
}

fn blocks() -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut directive: Option<String> = None;
    let mut lines = README.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        if let Some(rest) = line.trim().strip_prefix("<!-- readme:") {
            directive = Some(rest.trim_end_matches("-->").trim().to_owned());
            continue;
        }
        if line.trim() != "```console" {
            // A directive applies to the block right after it only.
            if !line.trim().is_empty() {
                directive = None;
            }
            continue;
        }
        let mut steps: Vec<Step> = Vec::new();
        let mut continuing = false;
        for (_, line) in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            if continuing {
                let step = steps.last_mut().expect("a command");
                step.command.push('\n');
                step.command.push_str(line);
                continuing = line.ends_with('\\');
            } else if let Some(command) = line.strip_prefix("$ ") {
                steps.push(Step {
                    command: command.to_owned(),
                    expected: Vec::new(),
                });
                continuing = command.ends_with('\\');
            } else if let Some(step) = steps.last_mut() {
                step.expected.push(line.to_owned());
            }
        }
        let mut sqlite_only = false;
        let (server, skip) = match directive.take() {
            Some(d) if d == "skip" => (None, true),
            Some(d) if d == "sqlite-server" => {
                sqlite_only = true;
                (Some(Vec::new()), false)
            }
            Some(d) if d.starts_with("server") => (
                Some(
                    d.trim_start_matches("server")
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                ),
                false,
            ),
            _ => (None, false),
        };
        blocks.push(Block {
            server,
            skip,
            sqlite_only,
            steps,
            line: number + 1,
        });
    }
    blocks
}

/// What varies from run to run, blanked: times, ids, versions, lengths,
/// dates, cursors, keep-alive comments.
fn normalise(text: &str) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line == ":" {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("date:") {
            out.push("date: <date>".to_owned());
            continue;
        }
        let mut line = line.to_owned();
        for (pattern, with) in [
            (
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
                "<time>",
            ),
            (r#""(id|task_id)":\d+"#, r#""$1":<n>"#),
            (r"/v1/tasks/\d+", "/v1/tasks/<n>"),
            (r"(?i)content-length: \d+", "content-length: <n>"),
            (
                r#"(?i)(etag|if-match|if-none-match): "\d+""#,
                r#"$1: "<v>""#,
            ),
            (r#"\\?"\d{13,17}\\?""#, r#""<v>""#),
            (r#""next_cursor":"[^"]*""#, r#""next_cursor":"<c>""#),
            (r"cursor=[A-Za-z0-9_-]+", "cursor=<c>"),
            (r"^id: \d+", "id: <n>"),
            (r"\(in [0-9a-z ]+\)", "(in <d>)"),
            (r"\(\d+ bytes\)", "(<n> bytes)"),
        ] {
            line = regex_replace(&line, pattern, with);
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

fn regex_replace(text: &str, pattern: &str, with: &str) -> String {
    regex::Regex::new(pattern)
        .expect("a valid pattern")
        .replace_all(text, with)
        .into_owned()
}

/// The 16-digit versions (ETags) an expected output shows, paired with
/// the ones the server answered, so later commands use the real ones.
fn learn_versions(expected: &str, actual: &str, seen: &mut HashMap<String, String>) {
    let versions = regex::Regex::new(r"\d{16}").expect("pattern");
    let shown: Vec<&str> = versions.find_iter(expected).map(|m| m.as_str()).collect();
    let answered: Vec<&str> = versions.find_iter(actual).map(|m| m.as_str()).collect();
    for (shown, answered) in shown.into_iter().zip(answered) {
        seen.insert(shown.to_owned(), answered.to_owned());
    }
}

async fn the_readme_examples_answer_as_shown(backend: Backend) {
    assert!(
        Command::new("curl").arg("--version").output().is_ok(),
        "the README examples need curl"
    );
    let show = std::env::var_os("README_ACTUAL").is_some();
    let mut server: Option<(String, tokio::sync::oneshot::Sender<()>, TestDatabase)> = None;
    let mut versions: HashMap<String, String> = HashMap::new();
    let mut ran = 0;
    // Where the commands run: files they write stay out of the repository.
    let workdir = tempfile::tempdir().expect("a work directory");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_taskman"))
        .parent()
        .expect("the binary's directory")
        .to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for block in blocks() {
        if block.skip || (block.sqlite_only && backend != Backend::Sqlite) {
            continue;
        }
        if block.server.is_some() || server.is_none() {
            if let Some((_, stop, _)) = server.take() {
                let _ = stop.send(());
            }
            let database = TestDatabase::create(backend).await;
            let flags = block.server.clone().unwrap_or_default();
            let (address, stop, _running) = start(database.url(), &flags).await;
            server = Some((address, stop, database));
        }
        let address = server
            .as_ref()
            .map(|(a, _, _)| a.trim_start_matches("http://").to_owned())
            .unwrap();
        let database_url = server
            .as_ref()
            .map(|(_, _, database)| database.url().to_owned())
            .unwrap();
        for step in &block.steps {
            let mut command = step.command.replace(ADDRESS, &address);
            for (shown, real) in &versions {
                command = command.replace(shown, real);
            }
            let (dir, path, database_url) = (
                workdir.path().to_owned(),
                path.clone(),
                database_url.clone(),
            );
            let output = tokio::task::spawn_blocking(move || {
                Command::new("bash")
                    .arg("-c")
                    .arg(&command)
                    .current_dir(dir)
                    .env("PATH", path)
                    .env("DATABASE_URL", database_url)
                    .output()
                    .expect("bash runs")
            })
            .await
            .unwrap();
            let actual = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
            let expected = step.expected.join("\n");
            if show {
                println!("README line {}: $ {}\n{actual}", block.line, step.command);
            }
            learn_versions(&expected, &actual, &mut versions);
            assert_eq!(
                normalise(&actual),
                normalise(&expected),
                "README block at line {}: `{}` answered otherwise (left: answered, right: shown)",
                block.line,
                step.command
            );
            ran += 1;
        }
    }
    assert!(ran >= 20, "only {ran} README commands found");
    if let Some((_, stop, _)) = server {
        let _ = stop.send(());
    }
}
