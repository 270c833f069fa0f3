//! What poem and poem-openapi lack, for any JSON API over HTTP: strict
//! request bodies checked against their declared schema, problem
//! documents, the route and parameter table, hyper's errors as problems,
//! SSE framing, body limits, CORS, a base path. Each piece has its reason
//! at the top of its module. Nothing here knows of tasks: `api/` is built
//! on it, never the other way round.

pub mod base_path;
pub mod body_limit;
pub mod cross_origin;
pub mod digits;
pub mod event_stream;
pub mod headers;
pub mod hyper_errors;
pub mod json_body;
pub mod json_string;
pub mod parse_errors;
pub mod problem;
pub mod routes;
pub mod schema_check;
pub mod swagger_ui;

use poem::Response;

/// A tab icon, so that browsers opening Swagger UI do not log a 404.
const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2b6cb0"/><path d="M4 8.5l2.5 2.5L12 5" stroke="#fff" stroke-width="2" fill="none"/></svg>"##;

pub fn favicon() -> Response {
    Response::builder()
        .content_type("image/svg+xml")
        .header("cache-control", "public, max-age=86400")
        .body(FAVICON)
}
