"""The Python snippets of clients/README.md, run against the server.

Each snippet is read from the README at test time, so the README cannot
drift from what is tested. The test changes a snippet only where the README
names a placeholder: the base URL, and `last_event_id` so that the stream
replays a warning made just before.
"""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from taskman_client import Client
from taskman_client.models import Problem, Task
from test_taskman_client import PAST_EXPIRY, STREAM_DEADLINE_S, new_task, wait_for_warning

README = Path(__file__).resolve().parent.parent / "README.md"
README_BASE_URL = '"http://127.0.0.1:8080"'
# The headings the snippets are under.
CLIENT_SNIPPET = "## Python: openapi-python-client"
STREAM_SNIPPETS = "### The event stream from Python: httpx-sse"


def snippet(heading: str, nth: int = 1) -> str:
    """The `nth` ```python block under `heading` (up to the next heading)."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines.count(heading) == 1, f"{README} has no single heading {heading!r}"
    blocks: list[list[str]] = []
    fence: str | None = None  # the language of the block we are in
    for line in lines[lines.index(heading) + 1 :]:
        if fence is None and line.startswith("#"):
            break
        if fence is None and line.startswith("```"):
            fence = line[3:]
            if fence == "python":
                blocks.append([])
        elif fence is not None and line == "```":
            fence = None
        elif fence == "python":
            blocks[-1].append(line)
    assert len(blocks) >= nth, f"no {nth}. python block under {heading!r} in {README}"
    return "\n".join(blocks[nth - 1]) + "\n"


def replace_once(code: str, old: str, new: str) -> str:
    assert code.count(old) == 1, f"the snippet should contain {old!r} once:\n{code}"
    return code.replace(old, new)


def base_url() -> str:
    return os.environ["TASKMAN_URL"]


def test_the_client_snippet_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    code = replace_once(snippet(CLIENT_SNIPPET), README_BASE_URL, repr(base_url()))
    answers: list[tuple[str, int]] = []
    send = httpx.Client.send

    def record(self: httpx.Client, request: httpx.Request, **kwargs: object) -> httpx.Response:
        response = send(self, request, **kwargs)  # type: ignore[arg-type]
        answers.append((request.method, response.status_code))
        return response

    monkeypatch.setattr(httpx.Client, "send", record)
    names: dict[str, object] = {}
    exec(compile(code, f"{README}: {CLIENT_SNIPPET}", "exec"), names)  # noqa: S102 (the README's code)

    # create, patch, replace, delete by ids, delete all, then get the deleted task
    assert answers == [("POST", 201), ("PATCH", 200), ("PUT", 200), ("DELETE", 200), ("DELETE", 200), ("GET", 404)]
    answer = names["answer"]
    assert isinstance(answer.parsed, Problem)  # type: ignore[attr-defined]
    assert isinstance(names["task"], Task)


class Lines:
    """The stdout of a running snippet, one line at a time, with deadlines."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, words: list[str]) -> str:
        """The first line that starts with `words`; fails when the snippet ends first."""
        deadline = time.monotonic() + STREAM_DEADLINE_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                assert self.process.stderr is not None
                pytest.fail(
                    f"the snippet ended (exit {self.process.wait()}) before printing {words}; "
                    f"its stderr:\n{self.process.stderr.read()}"
                )
            if line.split()[: len(words)] == words:
                return line
        pytest.fail(f"the snippet printed no line starting with {words} within {STREAM_DEADLINE_S} s")


@pytest.fixture
def run_python() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started by a test; each is ended when the test ends."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_the_stream_snippet_prints_replayed_and_live_warnings(
    client: Client, run_python: list[subprocess.Popen[str]]
) -> None:
    # A warning in the history before the snippet runs: resuming just before
    # it replays it, so the snippet meets a real event whatever its timing.
    before = new_task(client, "snippet: expired before", PAST_EXPIRY)
    replayed = wait_for_warning(client, before.id)
    code = replace_once(snippet(STREAM_SNIPPETS), "last_event_id = None", f"last_event_id = {str(replayed.id - 1)!r}")
    # The snippet uses the `client` of the one above it.
    setup = f"import httpx\nfrom taskman_client import Client\nclient = Client(base_url={base_url()!r})\n"
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", setup + code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_python.append(process)
    lines = Lines(process)

    lines.until(["expired", str(before.id)])
    # The stream is open now: a new warning comes live.
    live = new_task(client, "snippet: expired live", PAST_EXPIRY)
    lines.until(["expired", str(live.id)])
    assert process.poll() is None, "the snippet reads on until it is stopped"


def test_the_bounded_stream_snippet_ends_on_time(client: Client) -> None:
    code = snippet(STREAM_SNIPPETS, 2)
    own_call = "warnings = asyncio.run(warnings_within(client, seconds=5))"
    seconds = 5
    # The snippet as it stands, ending with its own call, in a process of its
    # own (so that a read that never ends fails here rather than hangs): idle,
    # with a keep-alive comment every second, the read must end on time.
    setup = f"from taskman_client import Client\nclient = Client(base_url={base_url()!r})\n"
    started = time.monotonic()
    try:
        ran = subprocess.run(
            [sys.executable, "-c", setup + code],
            check=False,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=seconds + 10,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the bounded read had not ended after {seconds + 10} s")
    took = time.monotonic() - started
    assert ran.returncode == 0, ran.stderr
    assert seconds <= took < seconds + 3, f"the bounded read took {took:.1f} s"

    # Its function, with a real warning replayed from the history.
    names: dict[str, object] = {}
    exec(compile(replace_once(code, own_call, ""), f"{README}: {STREAM_SNIPPETS}", "exec"), names)  # noqa: S102
    task = new_task(client, "snippet: expired, bounded read", PAST_EXPIRY)
    warning = wait_for_warning(client, task.id)
    read = names["warnings_within"]
    warnings = asyncio.run(read(client, seconds=2, last_event_id=str(warning.id - 1)))  # type: ignore[operator]
    assert warning.id in [w.id for w in warnings]
