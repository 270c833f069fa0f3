//! HTTP: typed endpoints, the generated spec and Swagger UI, error mapping.

// `ApiError` carries its whole problem body; errors are the cold path and
// boxing would only move the allocation.
#![allow(clippy::result_large_err)]

mod allow;
mod auth;
mod body_limit;
mod etag;
mod examples;
mod health;
mod json_string;
mod notification_types;
mod notifications;
pub mod problem;
mod spec;
mod task_types;
mod tasks;
mod time;

use std::sync::Arc;

use poem::endpoint::make_sync;
use poem::middleware::{CatchPanic, Tracing};
use poem::web::{Html, Redirect};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route};
use poem_openapi::{OpenApiService, Tags};

use tokio::sync::watch;

use crate::expiry::Delivery;
use crate::service::TaskService;
use crate::store::NotificationStore;

pub use body_limit::MAX_BODY_BYTES;
pub use notification_types::render as render_notification;

/// The page size of every listing when the client names none.
const fn default_page_size() -> u32 {
    100
}

/// What the endpoints need.
#[derive(Clone)]
pub struct ApiState {
    pub tasks: Arc<TaskService>,
    pub notifications: Arc<dyn NotificationStore>,
    pub feed: Arc<Delivery>,
    /// Turns true at shutdown; open event streams end then.
    pub shutdown: watch::Receiver<bool>,
    /// With a token, every `/v1` endpoint but health requires it.
    pub api_token: Option<String>,
}

#[derive(Tags)]
enum ApiTags {
    /// Create, read, change and delete tasks.
    Tasks,
    /// Expiry warnings: their history and a live stream.
    Notifications,
    /// Is the service up?
    Health,
}

type Apis = (
    health::HealthApi,
    tasks::TasksApi,
    notifications::NotificationsApi,
);

fn openapi(state: ApiState) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            health::HealthApi {
                service: state.tasks.clone(),
            },
            tasks::TasksApi {
                service: state.tasks.clone(),
            },
            notifications::NotificationsApi {
                store: state.notifications,
                tasks: state.tasks,
                feed: state.feed,
                shutdown: state.shutdown,
            },
        ),
        "taskman",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A small task service: tasks with a title, an optional description and an optional \
         expiry. Every error answer is an RFC 9457 `application/problem+json` document.",
    )
}

/// The whole HTTP surface: `/v1/*`, `/openapi.json`, Swagger UI at `/docs`.
pub fn routes(state: ApiState) -> impl Endpoint {
    let require_token = auth::RequireToken::new(state.api_token.as_deref());
    let api = openapi(state);
    let generated = api.spec();
    let spec = spec::complete(&generated);
    // Swagger UI embeds the spec in its page: give it the completed one.
    let docs = api.swagger_ui_html().replacen(&generated, &spec, 1);
    let methods = Arc::new(spec::MethodTable::from_spec(&spec));
    let serve_docs = make_sync(move |_| Html(docs.clone()));
    Route::new()
        .nest_no_strip("/v1", api)
        .at(
            "/openapi.json",
            make_sync(move |_| {
                Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(spec.clone())
            }),
        )
        .at("/docs", serve_docs)
        .at(
            "/",
            make_sync(|_| Redirect::see_other("/docs").into_response()),
        )
        .with(body_limit::BodyLimit)
        .with(require_token)
        .catch_all_error(problem::problem_from_poem_error)
        .with(allow::AllowHeader(methods))
        .with(
            CatchPanic::new()
                .with_handler(|_| problem::problem_response(problem::ApiError::internal_problem())),
        )
        .with(Tracing)
}
