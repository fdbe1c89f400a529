//! motion-api: the HTTP surface of motiond (api-contract.md).
//!
//! [`router`] builds the whole axum router for the composition root to serve:
//! `/v1/kling/…` (authenticated, rate-limited), `/files/{fid}/{name}` (capability
//! URLs), and `/healthz`, `/readyz`, `/metrics`, `/openapi.json`. Every other path
//! is left unrouted, for the web studio to be merged in.
//!
//! Handlers are thin: they read the request in the contract's order of checks
//! (§2.6), call one core service, and map the result to a wire shape. Every error
//! becomes a response in one place ([`error::ApiError`]).
//!
//! What [`AppState`] needs: the core services (accounts, assets, motion-upload,
//! motions, tasks, scheduler, files), the `TokenStore` port for authentication,
//! the `UrlBuilder` of `server.public_url`, a clock, a [`state::Readiness`] check
//! and, when metrics are served on the main listener, the Prometheus handle from
//! [`observe::prometheus_handle`].

pub mod auth;
pub mod body;
pub mod error;
pub mod files;
pub mod observe;
pub mod openapi;
pub mod ops;
mod response_cache;
mod routes;
pub mod state;
pub mod validate;

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, any};

pub use state::{ApiSettings, AppState, Readiness};

use crate::auth::{AuthLayerState, authenticate};
use crate::error::ApiError;
use motion_core::error::ErrorCode;

/// State of every handler: the composition root's services plus the HTTP settings.
#[derive(Clone)]
pub struct Api {
    pub app: AppState,
    pub settings: Arc<ApiSettings>,
}

pub(crate) type ApiRouter = Router<Api>;

/// Registers `path` and `path/` (contract §2.1: one trailing slash is the same route).
pub(crate) fn route2(router: ApiRouter, path: &str, method_router: MethodRouter<Api>) -> ApiRouter {
    router
        .route(path, method_router.clone())
        .route(&format!("{path}/"), method_router)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound)
}

async fn method_not_allowed() -> ApiError {
    // The router adds the `Allow` header with the route's methods.
    ApiError::new(ErrorCode::MethodNotAllowed {
        allow: String::new(),
    })
}

/// The whole HTTP surface. Paths outside `/v1/kling`, `/files` and the operations
/// endpoints are not routed here, so the caller may merge or fall back to the studio.
pub fn router(state: AppState, settings: ApiSettings) -> Router {
    let auth = Arc::new(AuthLayerState::new(
        state.tokens.clone(),
        state.change_stamp.clone(),
        &settings,
    ));
    let api = Api {
        app: state,
        settings: Arc::new(settings),
    };
    let kling = routes::kling_routes().route_layer(from_fn_with_state(auth, authenticate));
    Router::new()
        .merge(kling)
        .merge(files::routes())
        .merge(ops::routes())
        // Unknown paths under the API prefixes: 404 before authentication (§2.6 step 1).
        .route("/v1/kling", any(not_found))
        .route("/v1/kling/", any(not_found))
        .route("/v1/kling/{*rest}", any(not_found))
        .route("/files", any(not_found))
        .route("/files/", any(not_found))
        .route("/files/{fid}", any(not_found))
        .route("/files/{fid}/", any(not_found))
        .route("/files/{fid}/{name}/", any(not_found))
        .route("/files/{fid}/{name}/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn(observe::observe))
        .with_state(api)
}
