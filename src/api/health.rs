//! `/v1/health`: can the service serve?

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::api_error::ApiError;
use super::operations::GetHealth;
use super::{ApiState, ApiTags};
use crate::service::DatabaseHealth;

pub struct HealthApi;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Reachable but unable to write (disk full, read-only, I/O errors).
    Degraded,
    Unavailable,
}

/// The state of the service and of what it depends on: `status` is `ok`
/// when every dependency is; `database` is `ok`, `degraded` (it answers but
/// cannot write) or `unavailable`.
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
    /// The service and its database are up and can write.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// A dependency is down or cannot write; the body says which.
    #[oai(status = 503)]
    Unavailable(Json<Health>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Health")]
impl HealthApi {
    /// Check health
    ///
    /// Open even when `API_TOKEN` is set. A write that failed because the
    /// database could not write makes the next checks probe with a write,
    /// until one succeeds.
    #[oai(path = "/health", method = "get", operation_id = "get_health")]
    async fn get_health(
        &self,
        state: Data<&ApiState>,
    ) -> Result<HealthResponse, ApiError<GetHealth>> {
        let database = match state.tasks.health().await {
            DatabaseHealth::Ok => Status::Ok,
            DatabaseHealth::Degraded => Status::Degraded,
            DatabaseHealth::Unavailable => Status::Unavailable,
        };
        let health = Health {
            status: database,
            database,
        };
        Ok(match database {
            Status::Ok => HealthResponse::Ok(Json(health)),
            _ => HealthResponse::Unavailable(Json(health)),
        })
    }
}
