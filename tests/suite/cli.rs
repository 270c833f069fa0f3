//! The command line as an operator meets it: the version, options before or
//! after `serve`, the effective configuration, and a start-up line that says
//! what is running.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TASKMAN: &str = env!("CARGO_BIN_EXE_taskman");

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new(TASKMAN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("taskman runs");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn the_version_is_printed() {
    let shown = run(&["--version"], &[]);
    assert_eq!(
        shown.trim(),
        format!("taskman {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_effective_configuration_is_printed_with_secrets_hidden() {
    let shown = run(
        &["config", "--warn-before", "5m"],
        &[
            ("API_TOKEN", "tok3n-secret"),
            ("DATABASE_URL", "mysql://taskman:hunter2@db:3306/taskman"),
        ],
    );
    assert!(
        !shown.contains("tok3n-secret") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(
        shown.contains("API_TOKEN=(set, hidden)  # environment"),
        "{shown}"
    );
    assert!(
        shown.contains("DATABASE_URL=mysql://taskman:***@db:3306/taskman  # environment"),
        "{shown}"
    );
    assert!(shown.contains("WARN_BEFORE=5m  # flag"), "{shown}");
    assert!(shown.contains("MAX_IN_FLIGHT=256  # default"), "{shown}");
}

/// `taskman serve --bind-addr …` (options after the subcommand) starts, and
/// its first lines say what runs, without the scheduler's noise.
#[test]
fn serve_takes_options_after_it_and_says_what_it_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let mut child = Command::new(TASKMAN)
        .args([
            "serve",
            "--bind-addr",
            "127.0.0.1:0",
            "--database-url",
            &database,
        ])
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("taskman starts");
    let stderr = child.stderr.take().expect("stderr");
    let _child = KillOnDrop(child);
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|line: &String| line.contains("taskman listening on port"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("no listening line within 60 s:\n{}", seen.join("\n")),
        }
    }
    let log = seen.join("\n");
    let starting = seen
        .iter()
        .find(|line| line.contains("taskman starting"))
        .unwrap_or_else(|| panic!("no start-up line:\n{log}"));
    for field in [
        concat!("version=", env!("CARGO_PKG_VERSION")),
        "bind_addr=127.0.0.1:0",
        "database=DatabaseUrl(sqlite://",
        "max_in_flight=256",
        "warn_before=900s",
    ] {
        assert!(starting.contains(field), "{field} not in {starting}");
    }
    for noise in ["Uninited", "Job creator created"] {
        assert!(!log.contains(noise), "{noise} in:\n{log}");
    }
}

/// The README's configuration table is the reference: every option that
/// `taskman --help` knows is in it, with its environment variable and its
/// default, and nothing else is.
#[test]
fn the_readme_configuration_table_matches_the_options() {
    use clap::CommandFactory;
    let readme = include_str!("../../README.md");
    let mut documented = std::collections::BTreeMap::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 || !cells[1].starts_with("`--") {
            continue;
        }
        let unquote = |cell: &str| cell.trim_matches('`').to_owned();
        documented.insert(
            unquote(cells[1]).trim_start_matches("--").to_owned(),
            (unquote(cells[2]), unquote(cells[3])),
        );
    }
    let command = taskman::Config::command();
    let mut options = std::collections::BTreeMap::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if ["help", "version"].contains(&long) {
            continue;
        }
        let env = arg
            .get_env()
            .map(|env| env.to_string_lossy().into_owned())
            .unwrap_or_default();
        let default = match arg.get_default_values() {
            [] => "unset".to_owned(),
            values => values
                .iter()
                .map(|value| value.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(","),
        };
        options.insert(long.to_owned(), (env, default));
    }
    assert!(options.len() > 20, "{options:?}");
    assert_eq!(
        documented, options,
        "README table (left) vs the options (right)"
    );
}

/// `contrib/taskman.service` passes `systemd-analyze verify` (with its
/// `ExecStart` pointed at this build), where systemd is installed.
#[test]
fn the_systemd_unit_verifies() {
    let unit = include_str!("../../contrib/taskman.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/taskman serve"));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    let verify = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists());
    let Some(verify) = verify else {
        eprintln!("SKIPPED the systemd-analyze part: systemd-analyze is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taskman.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/taskman", TASKMAN)).unwrap();
    let output = Command::new(verify)
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
