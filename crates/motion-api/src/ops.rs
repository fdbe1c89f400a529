//! Operations endpoints (contract §10): `/healthz`, `/readyz`, `/metrics`,
//! `/openapi.json`. No token, no rate limit.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use motion_core::error::ErrorCode;
use motion_core::wire;

use crate::error::{ApiError, ApiResult};
use crate::{Api, ApiRouter};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
}

/// §10.1 liveness: touches neither database nor storage.
#[utoipa::path(
    get, path = "/healthz", operation_id = "healthz", tag = "operations",
    responses((status = 200, description = "alive", body = wire::Health))
)]
pub async fn healthz(State(api): State<Api>) -> Json<wire::Health> {
    Json(wire::Health {
        status: "ok".into(),
        version: api.settings.version.clone(),
    })
}

/// §10.2 readiness: the first failing component, in the contract's order.
#[utoipa::path(
    get, path = "/readyz", operation_id = "readyz", tag = "operations",
    responses((status = 200, description = "ready", body = wire::Ready), (status = 503, description = "storage unavailable", body = wire::ErrorBody))
)]
pub async fn readyz(State(api): State<Api>) -> ApiResult<Json<wire::Ready>> {
    api.app
        .readiness
        .check()
        .await
        .map_err(|component| ApiError::new(ErrorCode::NotReady { component }))?;
    Ok(Json(wire::Ready {
        status: "ready".into(),
    }))
}

/// §10.3 Prometheus text format; 404 when metrics are off or on another listener.
pub async fn metrics(State(api): State<Api>) -> Response {
    let Some(handle) = &api.app.metrics else {
        return ApiError::new(ErrorCode::NotFound).into_response();
    };
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(header::CONTENT_TYPE, content_type)], handle.render()).into_response()
}

/// §10.4 the generated OpenAPI 3.1 document.
pub async fn openapi_json(State(api): State<Api>) -> Response {
    let doc = crate::openapi::document_json(&api.settings.public_url);
    let body = serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_owned());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
