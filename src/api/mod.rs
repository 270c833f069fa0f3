//! HTTP: typed endpoints, the generated spec and Swagger UI, error mapping.
//! Handlers talk to the services only; what works around a gap in poem or
//! poem-openapi lives in `src/edge/`.

mod access_log;
mod api_error;
pub mod auth;
mod etag;
mod examples;
pub mod forwarded;
mod headers;
mod health;
mod limits;
mod notification_types;
mod notifications;
mod observe;
pub mod operations;
mod paging;
mod parameters;
pub mod problem;
mod spec;
mod task_list;
mod task_types;
mod tasks;
mod text;
mod time;
mod values;

use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::make_sync;
use poem::middleware::{CatchPanic, Compression};
use poem::web::{Html, Redirect};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, get};
use poem_openapi::{OpenApiService, Tags};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::service::{NotificationService, TaskService};

pub use crate::edge::body_limit::MAX_BODY_BYTES;
pub use notification_types::render as render_notification;
pub use notifications::StreamLimits;
pub use parameters::PARAMETERS;

/// The page size of every listing when the client names none.
const fn default_page_size() -> u32 {
    100
}

/// The order of operations in Swagger UI: reading first, and the one that
/// can delete every task last.
const SWAGGER_ORDER: &[&str] = &[
    "list_tasks",
    "create_task",
    "get_task",
    "replace_task",
    "patch_task",
    "delete_task",
    "complete_task",
    "reopen_task",
    "complete_tasks",
    "reopen_tasks",
    "replace_tasks",
    "delete_tasks",
    "list_notifications",
    "list_task_notifications",
    "stream_notifications",
];

/// A bulk replace (`PUT /v1/tasks`) may send up to 4 MiB: 1,000 full-size
/// tasks (255-character titles, 1,000-byte descriptions, an expiry) take
/// about 1.4 MB; this leaves room for titles in non-ASCII letters and for
/// escapes.
const LARGER_BODIES: &[crate::edge::body_limit::LargerBody] =
    &[crate::edge::body_limit::LargerBody {
        method: poem::http::Method::PUT,
        path: "/v1/tasks",
        max_bytes: 4 * 1024 * 1024,
    }];

/// What the endpoints need, handed to them as `Data<&ApiState>`.
#[derive(Clone)]
pub struct ApiState {
    pub tasks: Arc<TaskService>,
    pub notifications: Arc<NotificationService>,
    pub streams: StreamLimits,
    pub metrics: Arc<Metrics>,
    /// Turns true at shutdown; open event streams end then.
    pub shutdown: watch::Receiver<bool>,
    /// A bare `DELETE /v1/tasks` deletes every task (the original's rule)
    /// instead of being refused.
    pub allow_bare_delete_all: bool,
}

/// How the HTTP layer guards itself.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// The tokens every `/v1` endpoint but health (and `/metrics`) requires,
    /// if any.
    pub tokens: std::sync::Arc<auth::Tokens>,
    /// Log a line per request.
    pub access_log: bool,
    /// Whose forwarding headers name the client in the access log.
    pub trusted_proxies: forwarded::TrustedProxies,
    /// Origins whose pages may call the API cross-origin.
    pub cors_origins: Vec<String>,
    /// The prefix a reverse proxy serves the service under (empty: none).
    pub base_path: String,
    /// Requests handled at once; more get a fast 503.
    pub max_in_flight: usize,
    /// How long one request may take, from its received body to its
    /// response head.
    pub request_timeout: Duration,
    /// How long a request's body may take to arrive.
    pub body_read_timeout: Duration,
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

pub(crate) fn openapi() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            tasks::TasksApi,
            notifications::NotificationsApi,
        ),
        "taskman",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A small task service: tasks with a title, an optional description and an optional \
         expiry, and a warning before each expiry. Every error answer is an RFC 9457 \
         `application/problem+json` document.",
    )
}

/// Checks `BASE_PATH` (for the configuration's parser).
pub fn support_base_path(raw: &str) -> Result<String, String> {
    crate::edge::base_path::parse(raw)
}

/// The spec as served, without a database or a listener.
pub fn spec() -> String {
    spec::complete(&openapi().spec()).expect(SPEC_COMPLETES)
}

/// The spec completion is fixed code over fixed types; a unit test of
/// `spec.rs` runs it on the real spec.
const SPEC_COMPLETES: &str = "the spec completion finds everything it completes";

/// The spec as `taskman openapi` prints it (and `openapi/openapi.json`
/// holds it): indented, keys sorted.
pub fn spec_pretty() -> String {
    let spec = spec();
    serde_json::from_str::<serde_json::Value>(&spec)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or(spec)
}

/// The whole HTTP surface: `/v1/*`, `/openapi.json`, Swagger UI at `/docs`,
/// `/metrics`.
pub fn routes(state: ApiState, settings: HttpSettings) -> impl Endpoint {
    let api = if settings.base_path.is_empty() {
        openapi()
    } else {
        openapi().server(settings.base_path.clone())
    };
    let generated = api.spec();
    let spec = spec::complete(&generated).expect(SPEC_COMPLETES);
    // Swagger UI embeds the spec in its page: give it the completed one.
    let docs = api.swagger_ui_html().replacen(&generated, &spec, 1);
    let docs = crate::edge::swagger_ui::order_operations(&docs, SWAGGER_ORDER);
    let table = Arc::new(crate::edge::routes::RouteTable::from_spec(
        &spec, PARAMETERS,
    ));
    let metrics = state.metrics.clone();
    let tasks = state.tasks.clone();
    let observed = state.metrics.clone();
    let app = Route::new()
        .nest_no_strip("/v1", api)
        .at(
            "/openapi.json",
            get(make_sync(move |_| {
                Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(spec.clone())
            }))
            .with(Compression::new()),
        )
        .at(
            "/docs",
            get(make_sync(move |_| Html(docs.clone()))).with(Compression::new()),
        )
        .at("/favicon.ico", get(make_sync(|_| crate::edge::favicon())))
        .at(
            "/metrics",
            get(make_sync(move |_| {
                observe::render(&metrics, tasks.as_ref())
            })),
        )
        .at(
            "/",
            get(make_sync(|_| Redirect::see_other("/docs").into_response())),
        )
        .catch_all_error(|err| PARAMETERS.catch_all(err))
        .with(crate::edge::routes::CheckRoutes(table))
        .with(auth::RequireToken::new(settings.tokens.clone()))
        // Outside the token check: a preflight carries no token.
        .with(crate::edge::cross_origin::CrossOrigin::new(
            settings.cors_origins.iter().map(String::as_str),
        ))
        .data(state.clone())
        .with(limits::RequestLimits::new(
            settings.max_in_flight,
            settings.request_timeout,
            state.metrics.http.clone(),
        ))
        // Outside the limit on requests in flight: a body is received
        // before its request takes a place.
        .with(crate::edge::body_limit::BodyLimit::new(
            settings.max_in_flight,
            settings.body_read_timeout,
            LARGER_BODIES,
        ))
        .with(observe::RecordRequests(observed))
        .with(
            CatchPanic::new()
                .with_handler(|_| crate::edge::problem::Problem::internal().into_response()),
        );
    let app = app.with(crate::edge::base_path::BasePath(settings.base_path.clone()));
    app.with_if(
        settings.access_log,
        access_log::AccessLog::new(settings.trusted_proxies.clone()),
    )
}
