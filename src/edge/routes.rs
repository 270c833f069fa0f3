//! What the spec says about each path: the methods it allows (for `Allow`
//! on a 405) and the query parameters each operation takes, so that an
//! unknown one is refused instead of ignored. (poem-openapi ignores query
//! parameters it was not told about; `DELETE /v1/tasks?id=24`, a typo for
//! `ids`, would delete every task.) It also holds every integer parameter,
//! in the query or the path, to the form the spec declares: digits only,
//! where poem-openapi's parsing would take `+5` or `05`.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use serde_json::Value;

use super::digits;
use super::parse_errors::Parameters;
use super::problem::{FieldError, Problem, problem_response};

/// Paths served outside the spec (Swagger UI, the spec, metrics…): GET only.
pub const PLAIN_PATHS: &[&str] = &["/", "/docs", "/openapi.json", "/metrics", "/favicon.ico"];

#[derive(Clone, Debug)]
pub struct RouteTable {
    paths: Vec<Path>,
    parameters: Parameters,
}

#[derive(Clone, Debug)]
struct Path {
    segments: Vec<String>,
    /// `GET, POST, HEAD`, in a fixed order.
    allow: String,
    /// Method (lower case) → its query parameters by name.
    queries: BTreeMap<String, BTreeMap<String, Form>>,
    /// The integer parameters among the segments: position → name.
    integer_segments: Vec<(usize, String)>,
}

/// What a parameter's schema declares about how its value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// `type: integer`: digits, no sign, no leading zero.
    Integer,
    /// An array of integers, comma-separated or repeated.
    Integers,
    /// Another array: may be repeated.
    List,
    /// Anything else, read by its own typed parser.
    Other,
}

impl Form {
    fn of(schema: &Value) -> Self {
        match schema["type"].as_str() {
            Some("integer") => Self::Integer,
            Some("array") if schema["items"]["type"] == "integer" => Self::Integers,
            Some("array") => Self::List,
            _ => Self::Other,
        }
    }

    fn is_list(self) -> bool {
        matches!(self, Self::Integers | Self::List)
    }

    /// Whether `value` is written as declared (a range is checked later,
    /// by the operation).
    fn admits(self, value: &str) -> bool {
        let integer = |raw: &str| digits::canonical::<u64>(raw).is_some();
        match self {
            Self::Integer => integer(value),
            Self::Integers => value.split(',').all(integer),
            Self::List | Self::Other => true,
        }
    }
}

impl RouteTable {
    pub fn from_spec(spec: &str, expected: Parameters) -> Self {
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
                let segments = segments(path);
                let integer_segments = declared
                    .into_iter()
                    .flatten()
                    .flat_map(|(_, operation)| parameters(operation, "path"))
                    .filter(|(_, form)| *form == Form::Integer)
                    .filter_map(|(name, _)| {
                        let at = segments.iter().position(|s| *s == format!("{{{name}}}"))?;
                        Some((at, name))
                    })
                    .collect();
                Path {
                    segments,
                    allow: methods.join(", ").to_uppercase(),
                    queries,
                    integer_segments,
                }
            })
            .collect();
        paths.extend(PLAIN_PATHS.iter().map(|path| Path {
            segments: segments(path),
            allow: "GET, HEAD".to_owned(),
            queries: BTreeMap::new(),
            integer_segments: Vec::new(),
        }));
        Self {
            paths,
            parameters: expected,
        }
    }

    fn find(&self, path: &str) -> Option<&Path> {
        self.find_segments(&segments(path))
    }

    fn find_segments(&self, wanted: &[String]) -> Option<&Path> {
        self.paths.iter().find(|template| {
            template.segments.len() == wanted.len()
                && template
                    .segments
                    .iter()
                    .zip(wanted)
                    .all(|(t, w)| t == w || (t.starts_with('{') && !w.is_empty()))
        })
    }

    /// The `Allow` value for a request path, if the spec has it.
    pub fn allowed(&self, path: &str) -> Option<&str> {
        self.find(path).map(|found| found.allow.as_str())
    }

    /// What is wrong with the parameters, if anything: an integer path
    /// segment or query value not written as digits, a parameter the
    /// operation does not take, or one that is not a list given twice.
    pub fn check(&self, method: &Method, path: &str, query: Option<&str>) -> Option<Problem> {
        let method = if method == Method::HEAD {
            "get"
        } else {
            method.as_str()
        };
        let sent = segments(path);
        let found = self.find_segments(&sent)?;
        let mut errors = Vec::new();
        for (at, name) in &found.integer_segments {
            if !sent
                .get(*at)
                .is_some_and(|value| Form::Integer.admits(value))
            {
                errors.push(FieldError::new(name, self.parameters.expectation(name)));
            }
        }
        if let (Some(query), Some(taken)) = (query, found.queries.get(&method.to_ascii_lowercase()))
        {
            check_query(taken, query, &self.parameters, &mut errors);
        }
        (!errors.is_empty()).then(|| Problem::invalid(errors))
    }
}

fn check_query(
    taken: &BTreeMap<String, Form>,
    query: &str,
    parameters: &Parameters,
    errors: &mut Vec<FieldError>,
) {
    let mut seen = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
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
            Some(form) if !form.is_list() && *count == 2 => {
                errors.push(FieldError::new(name, "may be given only once"));
            }
            Some(form) if !form.admits(&value) && !errors.iter().any(|e| e.field == name) => {
                errors.push(FieldError::new(
                    name.as_ref(),
                    parameters.expectation(&name),
                ));
            }
            _ => {}
        }
    }
}

fn query_parameters(operation: &Value) -> BTreeMap<String, Form> {
    parameters(operation, "query").collect()
}

/// The operation's parameters in `place` (`query`, `path`), with their forms.
fn parameters<'a>(
    operation: &'a Value,
    place: &'a str,
) -> impl Iterator<Item = (String, Form)> + 'a {
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |p| p["in"] == place)
        .filter_map(|p| Some((p["name"].as_str()?.to_owned(), Form::of(&p["schema"]))))
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
        if let Some(problem) = self.table.check(req.method(), &path, req.uri().query()) {
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

    const PARAMETERS: Parameters = Parameters {
        expected: &[("limit", "must be an integer from 1 to 1000")],
        path_parameter: "id",
    };

    const SPEC: &str = r#"{"paths": {
        "/v1/tasks": {
            "get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}]},
            "post": {},
            "delete": {"parameters": [{"name": "ids", "in": "query", "schema": {"type": "array", "items": {"type": "integer"}}}]}
        },
        "/v1/tasks/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}]}, "delete": {}},
        "/v1/tasks/{id}/notifications": {"get": {}}
    }}"#;

    #[test]
    fn paths_with_parameters_are_matched_by_segment() {
        let table = RouteTable::from_spec(SPEC, PARAMETERS);
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
        let table = RouteTable::from_spec(SPEC, PARAMETERS);
        let delete = Method::DELETE;
        assert!(
            table
                .check(&delete, "/v1/tasks", Some("ids=1,2&ids=3"))
                .is_none()
        );
        let problem = table.check(&delete, "/v1/tasks", Some("id=24")).unwrap();
        assert_eq!(problem.errors[0].field, "id");
        assert!(
            problem.errors[0].message.contains("it takes ids"),
            "{problem:?}"
        );
        assert!(table.check(&delete, "/v1/tasks", Some("IDS=24")).is_some());
        assert!(
            table
                .check(&Method::GET, "/v1/tasks", Some("limit=1&limit=2"))
                .is_some()
        );
        let problem = table
            .check(&Method::POST, "/v1/tasks", Some("x=1"))
            .unwrap();
        assert!(
            problem.errors[0].message.contains("takes none"),
            "{problem:?}"
        );
        assert!(table.check(&Method::GET, "/v1/tasks/7", Some("")).is_none());
    }
    #[test]
    fn integers_in_the_query_or_the_path_are_digits_only() {
        let table = RouteTable::from_spec(SPEC, PARAMETERS);
        let (get, delete) = (Method::GET, Method::DELETE);
        for query in ["limit=+5", "limit=05", "limit=5.0", "limit=-1", "limit= 5"] {
            let problem = table.check(&get, "/v1/tasks", Some(query)).unwrap();
            assert_eq!(problem.errors[0].field, "limit", "{query}");
        }
        assert!(table.check(&get, "/v1/tasks", Some("limit=0")).is_none());
        for query in ["ids=1,+2", "ids=1&ids=02", "ids=", "ids=1,,2"] {
            let problem = table.check(&delete, "/v1/tasks", Some(query)).unwrap();
            assert_eq!(problem.errors[0].field, "ids", "{query}");
        }
        assert!(
            table
                .check(&delete, "/v1/tasks", Some("ids=1,20&ids=3"))
                .is_none()
        );
        for path in ["/v1/tasks/+7", "/v1/tasks/07", "/v1/tasks/%2B7"] {
            let problem = table.check(&get, path, None).unwrap();
            assert_eq!(problem.errors[0].field, "id", "{path}");
        }
        assert!(table.check(&get, "/v1/tasks/7", None).is_none());
    }
}
