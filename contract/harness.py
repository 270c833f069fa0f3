"""Small helpers for scripts/schemathesis.sh, run with .venv-contract's Python.

    harness.py free-port
    harness.py wait-health BASE_URL SECONDS SERVER_PID
    harness.py feed-events BASE_URL         (runs until killed)
    harness.py mysql-create MYSQL_URL       -> prints the server's DATABASE_URL
    harness.py mysql-drop MYSQL_URL DATABASE_URL
    harness.py audit-har HAR_FILE BASE_URL

Errors go to stderr with exit status 1. Nothing here prints credentials.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# A database name we create and drop; nothing else is ever dropped.
DB_NAME = re.compile(r"^taskman_contract_[0-9a-f]{16}$")


def fail(message: str) -> None:
    print(f"harness: error: {message}", file=sys.stderr)
    sys.exit(1)


def free_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1])


def wait_health(base_url: str, seconds: str, pid: str) -> None:
    deadline = time.monotonic() + float(seconds)
    url = f"{base_url}/v1/health"
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            fail(f"the server (pid {pid}) exited before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    fail(f"{url} did not answer 200 within {seconds} s (last: {last})")


def feed_events(base_url: str) -> None:
    """Keep GET /v1/notifications/stream busy while schemathesis runs.

    Every 0.3 s, create a task whose expiry is long past: the server warns
    about it (kind `expired`) on its next tick and sends the warning to every
    open event stream. So each stream request schemathesis makes (read for up
    to 1 s, see contract/schemathesis.toml) gets events to validate against
    the spec, every run, instead of only when a generated task happens to
    expire at the right moment.
    """
    body = json.dumps({"title": "contract run: stream feeder", "expiry_dt": "2000-01-01T00:00:00Z"}).encode()
    while True:
        request = urllib.request.Request(
            f"{base_url}/v1/tasks", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        except (urllib.error.HTTPError, OSError):
            pass  # the run itself reports a server that misbehaves
        time.sleep(0.3)


def _mysql_parts(mysql_url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(mysql_url)
    if parts.scheme not in ("mysql", "mariadb") or not parts.hostname:
        fail("TEST_MYSQL_URL must look like mysql://USER[:PASSWORD]@HOST[:PORT][/]")
    return parts


def _connect(mysql_url: str):
    import pymysql  # only the MySQL run needs it

    parts = _mysql_parts(mysql_url)
    try:
        return pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=urllib.parse.unquote(parts.username or "root"),
            password=urllib.parse.unquote(parts.password or ""),
            connect_timeout=10,
            autocommit=True,
        )
    except pymysql.MySQLError as exc:
        fail(f"cannot connect to TEST_MYSQL_URL ({parts.hostname}:{parts.port or 3306}): {exc}")


def mysql_create(mysql_url: str) -> None:
    name = f"taskman_contract_{secrets.token_hex(8)}"
    conn = _connect(mysql_url)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()
    parts = _mysql_parts(mysql_url)
    print(urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, "")))


def mysql_drop(mysql_url: str, database_url: str) -> None:
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    if not DB_NAME.match(name):
        fail(f"refusing to drop {name!r}: not a database this harness created")
    conn = _connect(mysql_url)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def audit_har(har_file: str, base_url: str) -> None:
    """Every request schemathesis recorded went to the server under test."""
    expected = urllib.parse.urlsplit(base_url)
    with open(har_file, encoding="utf-8") as fh:
        entries = json.load(fh)["log"]["entries"]
    stray = []
    for entry in entries:
        url = urllib.parse.urlsplit(entry["request"]["url"])
        if (url.scheme, url.netloc) != (expected.scheme, expected.netloc):
            stray.append(entry["request"]["url"])
    if stray:
        fail(f"{len(stray)} recorded request(s) went elsewhere than {base_url}: {stray[:5]}")
    if not entries:
        fail(f"{har_file} recorded no request at all")
    print(f"{len(entries)} recorded requests, all to {expected.scheme}://{expected.netloc}")


COMMANDS = {
    "free-port": (free_port, 0),
    "wait-health": (wait_health, 3),
    "feed-events": (feed_events, 1),
    "mysql-create": (mysql_create, 1),
    "mysql-drop": (mysql_drop, 2),
    "audit-har": (audit_har, 2),
}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in COMMANDS:
        fail(f"usage: harness.py {{{','.join(COMMANDS)}}} ARGS...")
    func, arity = COMMANDS[argv[0]]
    if len(argv) - 1 != arity:
        fail(f"{argv[0]} takes {arity} argument(s)")
    func(*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
