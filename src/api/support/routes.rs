//! What the spec says about each path: the methods it allows (for `Allow`
//! on a 405) and the query parameters each operation takes, so that an
//! unknown one is refused instead of ignored. (poem-openapi ignores query
//! parameters it was not told about; `DELETE /v1/tasks?id=24`, a typo for
//! `ids`, would delete every task.)

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use serde_json::Value;

use super::super::problem::{FieldError, Problem, problem_response};

/// Paths served outside the spec (Swagger UI, the spec, metrics…): GET only.
pub const PLAIN_PATHS: &[&str] = &["/", "/docs", "/openapi.json", "/metrics", "/favicon.ico"];

#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    paths: Vec<Path>,
}

#[derive(Clone, Debug)]
struct Path {
    segments: Vec<String>,
    /// `GET, POST, HEAD`, in a fixed order.
    allow: String,
    /// Method (lower case) → its query parameters: name → whether it is a list.
    queries: BTreeMap<String, BTreeMap<String, bool>>,
}

impl RouteTable {
    pub fn from_spec(spec: &str) -> Self {
        let spec: Value = serde_json::from_str(spec).unwrap_or_default();
        let mut paths: Vec<Path> = spec["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, operations)| {
                let declared = operations.as_object();
                let has = |method: &str| declared.is_some_and(|ops| ops.contains_key(method));
                let methods: Vec<&str> = ["get", "post", "put", "patch", "delete"]
                    .into_iter()
                    .filter(|method| has(method))
                    .chain(has("get").then_some("head"))
                    .collect();
                let queries = declared
                    .into_iter()
                    .flatten()
                    .map(|(method, operation)| (method.clone(), query_parameters(operation)))
                    .collect();
                Path {
                    segments: segments(path),
                    allow: methods.join(", ").to_uppercase(),
                    queries,
                }
            })
            .collect();
        paths.extend(PLAIN_PATHS.iter().map(|path| Path {
            segments: segments(path),
            allow: "GET, HEAD".to_owned(),
            queries: BTreeMap::new(),
        }));
        Self { paths }
    }

    fn find(&self, path: &str) -> Option<&Path> {
        let wanted = segments(path);
        self.paths.iter().find(|template| {
            template.segments.len() == wanted.len()
                && template
                    .segments
                    .iter()
                    .zip(&wanted)
                    .all(|(t, w)| t == w || (t.starts_with('{') && !w.is_empty()))
        })
    }

    /// The `Allow` value for a request path, if the spec has it.
    pub fn allowed(&self, path: &str) -> Option<&str> {
        self.find(path).map(|found| found.allow.as_str())
    }

    /// What is wrong with the query, if anything: a parameter the
    /// operation does not take, or one that is not a list given twice.
    pub fn check_query(&self, method: &Method, path: &str, query: &str) -> Option<Problem> {
        let method = if method == Method::HEAD {
            "get"
        } else {
            method.as_str()
        };
        let taken = self
            .find(path)
            .and_then(|found| found.queries.get(&method.to_ascii_lowercase()))?;
        let mut errors = Vec::new();
        let mut seen = BTreeMap::new();
        for (name, _) in form_urlencoded::parse(query.as_bytes()) {
            let count = seen.entry(name.to_string()).or_insert(0);
            *count += 1;
            match taken.get(name.as_ref()) {
                None if *count == 1 => {
                    let expected = if taken.is_empty() {
                        "is not a parameter of this operation, which takes none".to_owned()
                    } else {
                        let names: Vec<&str> = taken.keys().map(String::as_str).collect();
                        format!(
                            "is not a parameter of this operation; it takes {}",
                            names.join(", ")
                        )
                    };
                    errors.push(FieldError::new(name, expected));
                }
                Some(false) if *count == 2 => {
                    errors.push(FieldError::new(name, "may be given only once"));
                }
                _ => {}
            }
        }
        (!errors.is_empty()).then(|| Problem::invalid(errors))
    }
}

fn query_parameters(operation: &Value) -> BTreeMap<String, bool> {
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| {
            let name = p["name"].as_str()?.to_owned();
            Some((name, p["schema"]["type"] == "array"))
        })
        .collect()
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// Refuses unknown query parameters (400), and adds `Allow` to every 405.
pub struct CheckRoutes(pub Arc<RouteTable>);

impl<E: Endpoint> Middleware<E> for CheckRoutes {
    type Output = CheckRoutesEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CheckRoutesEndpoint {
            inner,
            table: self.0.clone(),
        }
    }
}

pub struct CheckRoutesEndpoint<E> {
    inner: E,
    table: Arc<RouteTable>,
}

impl<E: Endpoint> Endpoint for CheckRoutesEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let path = req.uri().path().to_owned();
        if let Some(query) = req.uri().query()
            && let Some(problem) = self.table.check_query(req.method(), &path, query)
        {
            return Ok(problem_response(problem));
        }
        let mut response = self.inner.call(req).await?.into_response();
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            let allowed = self.table.allowed(&path).unwrap_or("GET, HEAD");
            if let Ok(value) = HeaderValue::from_str(allowed) {
                response.headers_mut().insert(header::ALLOW, value);
            }
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"{"paths": {
        "/v1/tasks": {
            "get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}]},
            "post": {},
            "delete": {"parameters": [{"name": "ids", "in": "query", "schema": {"type": "array"}}]}
        },
        "/v1/tasks/{id}": {"get": {"parameters": [{"name": "id", "in": "path"}]}, "delete": {}},
        "/v1/tasks/{id}/notifications": {"get": {}}
    }}"#;

    #[test]
    fn paths_with_parameters_are_matched_by_segment() {
        let table = RouteTable::from_spec(SPEC);
        assert_eq!(table.allowed("/v1/tasks"), Some("GET, POST, DELETE, HEAD"));
        assert_eq!(table.allowed("/v1/tasks/42"), Some("GET, DELETE, HEAD"));
        assert_eq!(
            table.allowed("/v1/tasks/42/notifications"),
            Some("GET, HEAD")
        );
        assert_eq!(table.allowed("/docs"), Some("GET, HEAD"));
        assert_eq!(table.allowed("/v1/nothing"), None);
    }

    #[test]
    fn an_unknown_or_repeated_query_parameter_is_refused_by_name() {
        let table = RouteTable::from_spec(SPEC);
        let delete = Method::DELETE;
        assert!(
            table
                .check_query(&delete, "/v1/tasks", "ids=1,2&ids=3")
                .is_none()
        );
        let problem = table.check_query(&delete, "/v1/tasks", "id=24").unwrap();
        assert_eq!(problem.errors[0].field, "id");
        assert!(
            problem.errors[0].message.contains("it takes ids"),
            "{problem:?}"
        );
        assert!(table.check_query(&delete, "/v1/tasks", "IDS=24").is_some());
        assert!(
            table
                .check_query(&Method::GET, "/v1/tasks", "limit=1&limit=2")
                .is_some()
        );
        let problem = table
            .check_query(&Method::POST, "/v1/tasks", "x=1")
            .unwrap();
        assert!(
            problem.errors[0].message.contains("takes none"),
            "{problem:?}"
        );
        assert!(table.check_query(&Method::GET, "/v1/tasks/7", "").is_none());
    }
}
