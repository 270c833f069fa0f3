//! Serving under a sub-path of a reverse proxy (`BASE_PATH=/tasks`): every
//! link the service writes (`Location`, `Link`, the `/` redirect) gets the
//! prefix, and the spec names it as its server, so Swagger UI's requests
//! carry it too. poem-openapi has no notion of a mount point, and the
//! handlers write root-relative links, so the prefix is added here, once,
//! on the way out.
//!
//! A proxy may strip the prefix (nginx `proxy_pass http://taskman/;`) or
//! pass it on: a request path that starts with it is served without it.

use poem::http::header::{LINK, LOCATION};
use poem::http::{HeaderValue, Uri};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

pub struct BasePath(pub String);

impl<E: Endpoint> Middleware<E> for BasePath {
    type Output = BasePathEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BasePathEndpoint {
            inner,
            prefix: self.0.clone(),
        }
    }
}

pub struct BasePathEndpoint<E> {
    inner: E,
    prefix: String,
}

impl<E: Endpoint> BasePathEndpoint<E> {
    /// The request's URI without the prefix, if it carries it.
    fn unprefixed(&self, uri: &Uri) -> Option<Uri> {
        let path = uri.path();
        let rest = path.strip_prefix(&self.prefix)?;
        let rest = match rest {
            "" => "/",
            rest if rest.starts_with('/') => rest,
            _ => return None,
        };
        let target = match uri.query() {
            Some(query) => format!("{rest}?{query}"),
            None => rest.to_owned(),
        };
        target.parse().ok()
    }
}

impl<E: Endpoint> Endpoint for BasePathEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        if self.prefix.is_empty() {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        if let Some(uri) = self.unprefixed(req.uri()) {
            *req.uri_mut() = uri;
        }
        let mut response = self.inner.call(req).await?.into_response();
        let headers = response.headers_mut();
        if let Some(location) = headers.get(LOCATION).and_then(|v| v.to_str().ok())
            && location.starts_with('/')
            && let Ok(value) = HeaderValue::from_str(&format!("{}{location}", self.prefix))
        {
            headers.insert(LOCATION, value);
        }
        if let Some(link) = headers.get(LINK).and_then(|v| v.to_str().ok())
            && let Ok(value) =
                HeaderValue::from_str(&link.replace("</", &format!("<{}/", self.prefix)))
        {
            headers.insert(LINK, value);
        }
        Ok(response)
    }
}

/// `BASE_PATH` as given: empty, or `/segment[/segment…]` without a
/// trailing slash.
pub fn parse(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let valid = trimmed.starts_with('/')
        && trimmed[1..].split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        });
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(format!(
            "{raw:?} is not a base path: write /name or /name/name (letters, digits, - . _ ~)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_path_is_a_clean_absolute_path() {
        assert_eq!(parse("/tasks/").unwrap(), "/tasks");
        assert_eq!(parse("/a/b-c").unwrap(), "/a/b-c");
        assert_eq!(parse("").unwrap(), "");
        assert_eq!(parse("/").unwrap(), "");
        for bad in ["tasks", "/a//b", "/a/../b", "/a?x", "/a b"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
