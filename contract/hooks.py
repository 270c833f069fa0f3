"""Schemathesis hooks for the contract run (SCHEMATHESIS_HOOKS).

Loads the loopback guard (see loopback_guard.py) and adds two filters.

`cursor` is opaque: only a `next_cursor` the server issued for the same
listing is valid, which no schema can say, so a generated cursor that fits
the declared form is still answered 400, rightly. Like the 412 for a
well-formed but stale `If-Match` (see schemathesis.toml), that is state,
not a rejected request; unlike it, a cursor names no resource, so instead of
widening what the check accepts, generated cursors are left out: cases
that carry one are skipped (not stripped, which would turn a negative case
into a positive one). Cursors are tested, issued and forged, by the Rust
suite (tests/suite/tasks.rs, bad_input.rs, responses.rs) and by the
generated clients, which follow `next_cursor` through whole listings.
"""

from __future__ import annotations

import os
import re
import sys

import schemathesis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback_guard  # noqa: E402,F401  (installs the guard on import)

_IDS = re.compile(r"^[1-9][0-9]{0,18}(,[1-9][0-9]{0,18}){0,999}$")


def _delete_tasks_case_the_schema_cannot_judge(case) -> bool:
    """`DELETE /v1/tasks` takes exactly one of `ids` and `all=true`: with
    neither it deletes nothing and answers 400 (a generated client's empty id
    list arrives that way), with both it is ambiguous and answers 400.
    OpenAPI 3.0 cannot say "one of these two parameters", so a case with
    neither or both looks schema-valid and is rightly refused. Such cases
    are skipped; the Rust suite tests them (data_safety.rs). So is a
    "negative" `ids` that schemathesis generates as a string which, sent
    as `ids=552`, is the valid comma-separated form itself."""
    if case.method.upper() != "DELETE" or case.path != "/v1/tasks":
        return False
    query = case.query if isinstance(case.query, dict) else {}
    ids, everything = query.get("ids"), query.get("all")
    if isinstance(ids, str) and _IDS.match(ids):
        return True
    said_all = everything is True or everything == "true"
    said_nothing = everything is None or everything is False or everything == "false"
    return (ids is None and said_nothing) or (ids is not None and said_all)


def _has_cursor(query) -> bool:
    return isinstance(query, dict) and "cursor" in query


@schemathesis.hook
def filter_query(ctx, query):
    return not _has_cursor(query)


@schemathesis.hook
def filter_case(ctx, case):
    return not _has_cursor(case.query) and not _delete_tasks_case_the_schema_cannot_judge(case)
