//! The query and path parameters of this API: what each must be, for the
//! messages of the route table and of parse errors (`edge/parse_errors.rs`).

use crate::edge::parse_errors::Parameters;

pub const PARAMETERS: Parameters = Parameters {
    expected: EXPECTED,
    // The one path parameter of this API.
    path_parameter: "id",
};

/// What each parameter takes, for the message when it cannot be parsed.
/// (A test checks that every parameter in the spec is listed here.)
const EXPECTED: &[(&str, &str)] = &[
    ("id", "must be a positive integer (a task id)"),
    ("task_id", "must be a positive integer (a task id)"),
    (
        "ids",
        "must be a comma-separated list of 1 to 1,000 positive integers",
    ),
    ("limit", "must be an integer from 1 to 1000"),
    ("offset", "must be an integer from 0 to 1000000000000000"),
    ("count", "must be `true` or `false`"),
    ("all", "must be `true` (delete every task) or `false`"),
    (
        "cursor",
        "must be a `next_cursor` from an earlier page of the same listing, under the same \
         filters, `sort` and `order`",
    ),
    (
        "expires_before",
        "must be an RFC 3339 date-time with an offset, e.g. 2026-01-01T10:00:00+08:00 \
         (write `+` as `%2B` in a query string)",
    ),
    (
        "expires_after",
        "must be an RFC 3339 date-time with an offset, e.g. 2026-01-01T10:00:00+08:00 \
         (write `+` as `%2B` in a query string)",
    ),
    ("status", "must be `open` or `done`"),
    (
        "sort",
        "must be one of `id`, `expiry_dt`, `update_dt`, `create_dt`, `priority`",
    ),
    ("order", "must be `asc` or `desc`"),
    ("priority_min", "must be an integer from 1 to 5"),
    ("priority_max", "must be an integer from 1 to 5"),
    (
        "q",
        "must be 1 to 200 characters holding at least one word of 3 or more letters or digits",
    ),
    (
        "label",
        "must be 1 to 64 characters without control characters, given at most 20 times",
    ),
];
