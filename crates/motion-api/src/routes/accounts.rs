//! §3 accounts: create or replace, list, get, delete.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use motion_core::domain::AccountInput;
use motion_core::error::ErrorCode;
use motion_core::params::required;
use motion_core::wire;

use super::common::form_body;
use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::validate;
use crate::{Api, ApiRouter, route2};

const FIELDS: &[&str] = &["email", "maxJobs", "password", "replyUrl"];

pub fn routes(r: ApiRouter) -> ApiRouter {
    let r = route2(
        r,
        "/v1/kling/accounts",
        post(create_account).get(list_accounts),
    );
    route2(
        r,
        "/v1/kling/accounts/{email}",
        get(get_account).delete(delete_account),
    )
}

/// `POST /accounts` (§3.2): 201 when created, 200 when replaced.
#[utoipa::path(
    post, path = "/v1/kling/accounts", operation_id = "createAccount", tag = "accounts", security(("bearer" = [])),
    request_body(content((crate::openapi::AccountForm = "application/json"), (crate::openapi::AccountForm = "multipart/form-data"), (crate::openapi::AccountForm = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "account replaced", body = wire::Account),
        (status = 201, description = "account created", body = wire::Account),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 408, description = "body timeout", body = wire::ErrorBody),
        (status = 413, description = "body too large", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn create_account(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<wire::Account>)> {
    let p = form_body(&api, &headers, body, FIELDS).await?;
    let email = required(p.string("email")?, "email")?;
    validate::email_syntax(&email)?;
    let max_jobs = required(validate::max_jobs(&p)?, "maxJobs")?;
    // Ignored, but typed like every string field (§2.3), in the order of the body table.
    p.string("password")?;
    let reply_url = validate::reply_url(&p, api.settings.allow_private_targets)?;
    let done = api
        .app
        .accounts
        .upsert(
            user.id,
            AccountInput {
                email,
                max_jobs,
                reply_url,
            },
        )
        .await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(wire::account(&done.account))))
}

/// `GET /accounts` (§3.3): keyed by email, ascending.
#[utoipa::path(
    get, path = "/v1/kling/accounts", operation_id = "listAccounts", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, description = "accounts keyed by email", body = crate::openapi::AccountMapDoc),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn list_accounts(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<wire::AccountMap>> {
    let all = api.app.accounts.list(user.id).await?;
    Ok(Json(
        all.iter()
            .map(|a| (a.email.clone(), wire::account(a)))
            .collect(),
    ))
}

/// The `{email}` path segment, percent-decoded (a broken encoding is simply not found).
fn email_path(
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, ErrorCode> {
    path.map(|Path(e)| e)
        .map_err(|_| ErrorCode::AccountNotFound {
            email: String::new(),
        })
}

/// `GET /accounts/{email}` (§3.4).
#[utoipa::path(
    get, path = "/v1/kling/accounts/{email}", operation_id = "getAccount", tag = "accounts", security(("bearer" = [])),
    params(("email" = String, Path, description = "account email")),
    responses(
        (status = 200, description = "the account", body = wire::Account),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn get_account(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Json<wire::Account>> {
    let email = email_path(path)?;
    Ok(Json(wire::account(
        &api.app.accounts.get(user.id, &email).await?,
    )))
}

/// `DELETE /accounts/{email}` (§3.5).
#[utoipa::path(
    delete, path = "/v1/kling/accounts/{email}", operation_id = "deleteAccount", tag = "accounts", security(("bearer" = [])),
    params(("email" = String, Path, description = "account email")),
    responses(
        (status = 200, description = "deleted", body = wire::AccountDeleted),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn delete_account(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Json<wire::AccountDeleted>> {
    let email = email_path(path)?;
    let email = api.app.accounts.delete(user.id, &email).await?;
    Ok(Json(wire::AccountDeleted { deleted: 1, email }))
}
