//! `/v1/health`: is the service able to serve?

use std::sync::Arc;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::ApiTags;
use crate::service::TaskService;

pub struct HealthApi {
    pub service: Arc<TaskService>,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Unavailable,
}

/// The state of the service and of what it depends on: `status` is `ok`
/// when every dependency is; `database` says whether the database is.
// No doc comments on the fields: poem-openapi would wrap each `$ref` in an
// `allOf` to carry one, which some client generators cannot read.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct Health {
    pub status: Status,
    pub database: Status,
}

impl poem_openapi::types::Example for Health {
    fn example() -> Self {
        Self {
            status: Status::Ok,
            database: Status::Ok,
        }
    }
}

#[derive(ApiResponse)]
enum HealthResponse {
    /// The service and its database are up.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// A dependency is down; the body says which.
    #[oai(status = 503)]
    Unavailable(Json<Health>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Health")]
impl HealthApi {
    /// Check health
    #[oai(path = "/health", method = "get", operation_id = "get_health")]
    async fn get_health(&self) -> HealthResponse {
        match self.service.ping().await {
            Ok(()) => HealthResponse::Ok(Json(Health {
                status: Status::Ok,
                database: Status::Ok,
            })),
            Err(err) => {
                tracing::warn!(error = %crate::telemetry::DisplayChain(&err), "health check failed");
                HealthResponse::Unavailable(Json(Health {
                    status: Status::Unavailable,
                    database: Status::Unavailable,
                }))
            }
        }
    }
}
