//! A Rust client for the taskman API, generated at build time by
//! [progenitor](https://crates.io/crates/progenitor) from the committed
//! `openapi/openapi.json` (see `build.rs`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use taskman_client::{Client, ProblemExt, types::TaskInput};
//!
//! let client = Client::new("http://127.0.0.1:8080");
//! let input = TaskInput { title: "Pay rent".into(), description: None, expiry_dt: None, priority: None, labels: None };
//! match client.create_task(None, &input).await {
//!     Ok(created) => println!("created task {}", created.id),
//!     Err(err) => match err.into_problem().await {
//!         Ok((status, problem)) => println!("{status}: {}", problem.detail),
//!         Err(other) => return Err(other.into()),
//!     },
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Besides the generated [`Client`] and [`types`], this crate has what the
//! generator cannot derive from the spec: [`TaskPatch`] (a JSON merge patch
//! that can send `null`), [`IdList`] (a comma-separated query parameter) and
//! [`ProblemExt`] (the status and parsed [`types::Problem`] of an
//! `application/problem+json` error answer).

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));

/// The reqwest this client is built on, to configure one for
/// [`Client::new_with_client`] (default headers, timeouts) without depending
/// on a matching version yourself.
pub use reqwest;

/// The media type of every error answer of the API (RFC 9457).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// A JSON merge patch of a task, the body of [`Client::patch_task`].
///
/// A field that is `None` is left out of the request and stays as it is.
/// `description`, `expiry_dt`, `priority` and `labels` are cleared with
/// `Some(None)`, sent as `null` (`Some(Some(vec![]))` clears the labels
/// too). `title` cannot be cleared.
///
/// Written by hand (`build.rs` replaces the generated type with it and fails
/// the build if the spec's `TaskPatch` changes its fields): the generated
/// type has one `Option` per field and so cannot tell "absent" from `null`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// A new title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A new description, or `Some(None)` to clear it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub description: Option<Option<String>>,
    /// A new expiry, or `Some(None)` to clear it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub expiry_dt: Option<Option<DateTime<Utc>>>,
    /// A new priority, 1 (low) to 5 (urgent), or `Some(None)` to clear it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub priority: Option<Option<i64>>,
    /// New labels, replacing the task's, or `Some(None)` to clear them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub labels: Option<Option<Vec<String>>>,
}

/// A field that is present, possibly as `null`.
fn present<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Task ids for the `ids` query parameter of [`Client::delete_tasks`], sent
/// as one comma-separated value (`ids=1,2,3`) as the spec declares it
/// (`explode: false`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct IdList(pub Vec<i64>);

impl From<Vec<i64>> for IdList {
    fn from(ids: Vec<i64>) -> Self {
        Self(ids)
    }
}

impl FromIterator<i64> for IdList {
    fn from_iter<I: IntoIterator<Item = i64>>(ids: I) -> Self {
        Self(ids.into_iter().collect())
    }
}

impl fmt::Display for IdList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

impl FromStr for IdList {
    type Err = std::num::ParseIntError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.split(',').map(|id| id.trim().parse()).collect()
    }
}

impl Serialize for IdList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IdList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Reads the status and the [`types::Problem`] out of a failed call.
///
/// progenitor types only `application/json` bodies, so the API's
/// `application/problem+json` error answers reach the caller as
/// [`Error::ErrorResponse`] with an unread [`ByteStream`] (documented
/// statuses) or as [`Error::UnexpectedResponse`] (any other status). This
/// reads such a body and parses it as the spec's `Problem`.
pub trait ProblemExt: Sized {
    /// `Ok((status, problem))` when the answer has an
    /// `application/problem+json` body. Any other error comes back unchanged
    /// in `Err`, except that a problem body that cannot be read or parsed
    /// becomes [`Error::ResponseBodyError`] or
    /// [`Error::InvalidResponsePayload`].
    fn into_problem(
        self,
    ) -> impl Future<Output = Result<(StatusCode, types::Problem), Self>> + Send;
}

impl<E: ErrorBody> ProblemExt for Error<E> {
    async fn into_problem(self) -> Result<(StatusCode, types::Problem), Self> {
        let (status, body) = match self {
            Error::ErrorResponse(value) if is_problem(value.headers()) => {
                (value.status(), E::read_body(value).await?)
            }
            Error::UnexpectedResponse(response) if is_problem(response.headers()) => (
                response.status(),
                response.bytes().await.map_err(Error::ResponseBodyError)?,
            ),
            other => return Err(other),
        };
        match serde_json::from_slice(&body) {
            Ok(problem) => Ok((status, problem)),
            Err(err) => Err(Error::InvalidResponsePayload(body, err)),
        }
    }
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(PROBLEM_CONTENT_TYPE))
}

/// The body types that generated operations use for error answers, as far as
/// [`ProblemExt`] needs to read them.
pub trait ErrorBody: Sized + Send {
    /// The raw body of an error answer, or the error unchanged when this body
    /// type has no raw bytes to give.
    fn read_body(
        value: ResponseValue<Self>,
    ) -> impl Future<Output = Result<bytes::Bytes, Error<Self>>> + Send;
}

impl ErrorBody for ByteStream {
    async fn read_body(value: ResponseValue<Self>) -> Result<bytes::Bytes, Error<Self>> {
        let mut stream = value.into_inner_stream();
        let mut body = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            body.extend_from_slice(&chunk.map_err(Error::ResponseBodyError)?);
        }
        Ok(body.into())
    }
}

impl ErrorBody for () {
    async fn read_body(value: ResponseValue<Self>) -> Result<bytes::Bytes, Error<Self>> {
        Err(Error::ErrorResponse(value))
    }
}

impl ErrorBody for types::Health {
    async fn read_body(value: ResponseValue<Self>) -> Result<bytes::Bytes, Error<Self>> {
        Err(Error::ErrorResponse(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_sends_only_its_fields_and_null_to_clear() {
        let patch = TaskPatch {
            description: Some(None),
            ..TaskPatch::default()
        };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({"description": null})
        );
        assert_eq!(
            serde_json::to_value(TaskPatch::default()).unwrap(),
            json!({})
        );
        let back: TaskPatch = serde_json::from_value(json!({"description": null})).unwrap();
        assert_eq!(back, patch);
    }

    #[test]
    fn ids_are_one_comma_separated_value() {
        let ids = IdList::from(vec![3, 1, 2]);
        assert_eq!(ids.to_string(), "3,1,2");
        assert_eq!("3,1,2".parse::<IdList>().unwrap(), ids);
        assert_eq!(serde_json::to_value(&ids).unwrap(), json!("3,1,2"));
    }

    #[test]
    fn problem_media_type_is_recognised_with_parameters() {
        let mut headers = HeaderMap::new();
        assert!(!is_problem(&headers));
        headers.insert(
            CONTENT_TYPE,
            "Application/Problem+JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(is_problem(&headers));
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(!is_problem(&headers));
    }
}
