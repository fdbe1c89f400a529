//! §5 motions: motion-upload, the motions list, and the unsupported motion-create.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use motion_core::error::ErrorCode;
use motion_core::params::{Params, in_range, required};
use motion_core::services::motion_upload::MotionUploadRequest;
use motion_core::wire;

use super::common::{form_body, select_account};
use crate::auth::AuthUser;
use crate::body::query_params;
use crate::error::{ApiError, ApiResult};
use crate::validate;
use crate::{Api, ApiRouter, route2};

const UPLOAD_FIELDS: &[&str] = &[
    "email",
    "resourceUrl",
    "coverUrl",
    "maxJobs",
    "replyUrl",
    "replyRef",
    "workName",
];
const LIST_FIELDS: &[&str] = &["email", "mine", "pageNum", "pageSize"];

pub fn routes(r: ApiRouter) -> ApiRouter {
    let r = route2(r, "/v1/kling/videos/motion-upload", post(motion_upload));
    let r = route2(r, "/v1/kling/videos/motions", get(list_motions));
    route2(r, "/v1/kling/videos/motion-create", post(motion_create))
}

/// §5.1 rows 4–13, in row order.
fn upload_request(p: &Params, allow_private: bool) -> Result<MotionUploadRequest, ErrorCode> {
    let resource_url = required(p.string("resourceUrl")?, "resourceUrl")?;
    let cover_url = required(p.string("coverUrl")?, "coverUrl")?;
    let max_jobs = validate::max_jobs(p)?;
    let reply_url = validate::reply_url(p, allow_private)?;
    let reply_ref = validate::bounded_string(p, "replyRef", 1024, ErrorCode::ReplyRefTooLong)?;
    let work_name = validate::bounded_string(p, "workName", 100, ErrorCode::WorkNameTooLong)?;
    Ok(MotionUploadRequest {
        resource_url,
        cover_url,
        max_jobs,
        reply_url,
        reply_ref,
        work_name,
    })
}

/// `POST /videos/motion-upload` (§5.1): the new task's envelope in status 5.
#[utoipa::path(
    post, path = "/v1/kling/videos/motion-upload", operation_id = "motionUpload", tag = "motions", security(("bearer" = [])),
    request_body(content((crate::openapi::MotionUploadForm = "application/json"), (crate::openapi::MotionUploadForm = "multipart/form-data"), (crate::openapi::MotionUploadForm = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "task submitted (status 5)", body = wire::TaskEnvelope),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 408, description = "body timeout", body = wire::ErrorBody),
        (status = 413, description = "body too large", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn motion_upload(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<wire::TaskEnvelope>> {
    let p = form_body(&api, &headers, body, UPLOAD_FIELDS).await?;
    let account = select_account(&api, &user, &p).await?;
    let req = upload_request(&p, api.settings.allow_private_targets)?;
    let view = api
        .app
        .motion_upload
        .submit(&account, req)
        .await
        .inspect_err(|e| {
            if matches!(e.code(), ErrorCode::TooManyJobs { .. }) {
                metrics::counter!("motiond_admission_rejections_total").increment(1);
            }
        })?;
    Ok(Json(api.app.urls.envelope(&view)))
}

/// §5.2 `mine`, `pageNum`, `pageSize`, validated in both modes.
fn list_params(q: &Params) -> Result<(bool, u32, u32), ErrorCode> {
    let mine = q.boolean("mine", ErrorCode::MineInvalid)?.unwrap_or(false);
    let page_num = q
        .integer("pageNum", ErrorCode::PageNumInvalid)?
        .unwrap_or(1);
    let page_num = in_range(page_num, 1, 1_000_000, ErrorCode::PageNumInvalid)?;
    let page_size = q
        .integer("pageSize", ErrorCode::PageSizeInvalid)?
        .unwrap_or(40);
    let page_size = in_range(page_size, 1, 100, ErrorCode::PageSizeInvalid)?;
    Ok((mine, page_num as u32, page_size as u32))
}

/// `GET /videos/motions` (§5.2): the official catalog, or the account's motions.
#[utoipa::path(
    get, path = "/v1/kling/videos/motions", operation_id = "listMotions", tag = "motions", security(("bearer" = [])),
    params(("email" = Option<String>, Query, description = "account selection (§2.4)"),
        ("mine" = Option<bool>, Query),
        ("pageNum" = Option<i64>, Query, minimum = 1, maximum = 1000000),
        ("pageSize" = Option<i64>, Query, minimum = 1, maximum = 100)),
    responses(
        (status = 200, description = "official or the account's motions", body = Vec<crate::openapi::MotionItem>),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn list_motions(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<wire::MotionList>> {
    let q = query_params(query.as_deref(), LIST_FIELDS)?;
    let account = select_account(&api, &user, &q).await?;
    let (mine, page_num, page_size) = list_params(&q)?;
    let urls = &api.app.urls;
    if mine {
        let works = api.app.motions.mine(&account, page_num, page_size).await?;
        return Ok(Json(wire::MotionList::Mine(
            works.iter().map(|w| urls.user_motion(w)).collect(),
        )));
    }
    let official = api.app.motions.official().await?;
    Ok(Json(wire::MotionList::Official(
        official.iter().map(|m| urls.official_motion(m)).collect(),
    )))
}

/// `POST /videos/motion-create` (§11): 501 after authentication.
#[utoipa::path(
    post, path = "/v1/kling/videos/motion-create", operation_id = "motionCreate", tag = "motions", security(("bearer" = [])),
    responses(
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 501, description = "not supported", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn motion_create(_user: AuthUser) -> ApiError {
    ApiError::new(ErrorCode::MotionCreateUnsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_fields_in_row_order() {
        let json = |s: &str| Params::from_json(s.as_bytes()).unwrap();
        let req = |s: &str| upload_request(&json(s), false);
        assert_eq!(
            req("{}"),
            Err(ErrorCode::ParamRequired {
                name: "resourceUrl".into()
            })
        );
        assert_eq!(
            req(r#"{"resourceUrl":1}"#),
            Err(ErrorCode::ParamNotString {
                name: "resourceUrl".into()
            })
        );
        assert_eq!(
            req(r#"{"resourceUrl":"r"}"#),
            Err(ErrorCode::ParamRequired {
                name: "coverUrl".into()
            })
        );
        assert_eq!(
            req(r#"{"resourceUrl":"r","coverUrl":[]}"#),
            Err(ErrorCode::ParamNotString {
                name: "coverUrl".into()
            })
        );
        let base = r#""resourceUrl":"r","coverUrl":"c""#;
        assert_eq!(
            req(&format!(r#"{{{base},"maxJobs":51,"replyUrl":"x"}}"#)),
            Err(ErrorCode::MaxJobsInvalid)
        );
        assert_eq!(
            req(&format!(r#"{{{base},"maxJobs":"2.0"}}"#)),
            Err(ErrorCode::MaxJobsInvalid)
        );
        assert_eq!(
            req(&format!(r#"{{{base},"replyUrl":true}}"#)),
            Err(ErrorCode::ParamNotString {
                name: "replyUrl".into()
            })
        );
        assert_eq!(
            req(&format!(r#"{{{base},"replyRef":{}}}"#, "1")),
            Err(ErrorCode::ParamNotString {
                name: "replyRef".into()
            })
        );
        let long = "x".repeat(1025);
        assert_eq!(
            req(&format!(r#"{{{base},"replyRef":"{long}","workName":1}}"#)),
            Err(ErrorCode::ReplyRefTooLong)
        );
        assert_eq!(
            req(&format!(r#"{{{base},"workName":"{}"}}"#, "é".repeat(101))),
            Err(ErrorCode::WorkNameTooLong)
        );
        let ok = req(&format!(
            r#"{{{base},"maxJobs":"3","workName":"{}"}}"#,
            "é".repeat(100)
        ))
        .unwrap();
        assert_eq!(ok.max_jobs, Some(3));
    }

    #[test]
    fn motion_list_parameters() {
        let q = |s: &str| list_params(&Params::from_urlencoded(s.as_bytes()));
        assert_eq!(q(""), Ok((false, 1, 40)));
        assert_eq!(q("mine=True&pageNum=2&pageSize=100"), Ok((true, 2, 100)));
        assert_eq!(q("mine=yes"), Err(ErrorCode::MineInvalid));
        assert_eq!(
            q("mine=false&pageSize=101"),
            Err(ErrorCode::PageSizeInvalid)
        );
        assert_eq!(q("pageNum=0&pageSize=0"), Err(ErrorCode::PageNumInvalid));
        assert_eq!(q("pageNum=1000001"), Err(ErrorCode::PageNumInvalid));
    }
}
