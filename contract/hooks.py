"""Schemathesis hooks for the contract run (SCHEMATHESIS_HOOKS).

Loads the loopback guard (see loopback_guard.py) and adds one filter.

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
import sys

import schemathesis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback_guard  # noqa: E402,F401  (installs the guard on import)


def _has_cursor(query) -> bool:
    return isinstance(query, dict) and "cursor" in query


@schemathesis.hook
def filter_query(ctx, query):
    return not _has_cursor(query)


@schemathesis.hook
def filter_case(ctx, case):
    return not _has_cursor(case.query)
