//! §6 tasks: one task, the time-cursor list, delete.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use motion_core::domain::TaskCursor;
use motion_core::error::ErrorCode;
use motion_core::params::{Params, in_range};
use motion_core::wire;

use super::common::{MAX_ID, TaskIdPath, select_account};
use crate::auth::AuthUser;
use crate::body::query_params;
use crate::error::ApiResult;
use crate::{Api, ApiRouter, route2};

const LIST_FIELDS: &[&str] = &[
    "email",
    "contentType",
    "pageSize",
    "createdBefore",
    "createdAfter",
];

pub fn routes(r: ApiRouter) -> ApiRouter {
    let r = route2(r, "/v1/kling/tasks", get(list_tasks));
    route2(
        r,
        "/v1/kling/tasks/{task_id}",
        get(get_task).delete(delete_task),
    )
}

/// `GET /tasks/{task_id}` (§6.4).
#[utoipa::path(
    get, path = "/v1/kling/tasks/{task_id}", operation_id = "getTask", tag = "tasks", security(("bearer" = [])),
    params(("task_id" = String, Path, description = "task id: decimal digits"), ("email" = Option<String>, Query, description = "account selection (§2.4)")),
    responses(
        (status = 200, description = "the task", body = wire::TaskEnvelope),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn get_task(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    TaskIdPath(id): TaskIdPath,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<wire::TaskEnvelope>> {
    let q = query_params(query.as_deref(), &["email"])?;
    let account = select_account(&api, &user, &q).await?;
    let view = api.app.tasks.get(&account, id).await?;
    Ok(Json(api.app.urls.envelope(&view)))
}

/// §6.5 parameters in row order, then the combination rule. `Ok(None)` cursor means
/// a content type other than video: an empty list.
fn list_params(q: &Params) -> Result<(Option<TaskCursor>, u32), ErrorCode> {
    let video = match q.string("contentType")?.as_deref() {
        None | Some("video") => true,
        Some("image" | "audio") => false,
        Some(_) => return Err(ErrorCode::ContentTypeParamInvalid),
    };
    let page_size = q
        .integer("pageSize", ErrorCode::PageSizeInvalid)?
        .unwrap_or(20);
    let page_size = in_range(page_size, 1, 100, ErrorCode::PageSizeInvalid)?;
    let cursor = |name: &str| -> Result<Option<i64>, ErrorCode> {
        let e = ErrorCode::CursorInvalid {
            name: name.to_owned(),
        };
        q.integer(name, e.clone())?
            .map(|v| in_range(v, 0, MAX_ID, e))
            .transpose()
    };
    let before = cursor("createdBefore")?;
    let after = cursor("createdAfter")?;
    let cursor = match (before, after) {
        (Some(_), Some(_)) => return Err(ErrorCode::CursorsTogether),
        (Some(b), None) => TaskCursor::Before(b),
        (None, Some(a)) => TaskCursor::After(a),
        (None, None) => TaskCursor::Latest,
    };
    Ok((video.then_some(cursor), page_size as u32))
}

/// `GET /tasks` (§6.5).
#[utoipa::path(
    get, path = "/v1/kling/tasks", operation_id = "listTasks", tag = "tasks", security(("bearer" = [])),
    params(("email" = Option<String>, Query, description = "account selection (§2.4)"),
        ("contentType" = Option<String>, Query, description = "video, image or audio"),
        ("pageSize" = Option<i64>, Query, minimum = 1, maximum = 100),
        ("createdBefore" = Option<i64>, Query, minimum = 0, maximum = 9007199254740991_i64),
        ("createdAfter" = Option<i64>, Query, minimum = 0, maximum = 9007199254740991_i64)),
    responses(
        (status = 200, description = "one page", body = wire::TaskHistory),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn list_tasks(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<wire::TaskHistory>> {
    let q = query_params(query.as_deref(), LIST_FIELDS)?;
    let account = select_account(&api, &user, &q).await?;
    let (cursor, page_size) = list_params(&q)?;
    let views = match cursor {
        Some(cursor) => api.app.tasks.list(&account, cursor, page_size).await?,
        None => Vec::new(),
    };
    Ok(Json(wire::TaskHistory {
        history: views.iter().map(|v| api.app.urls.envelope(v)).collect(),
    }))
}

/// `DELETE /tasks/{task_id}` (§6.6).
#[utoipa::path(
    delete, path = "/v1/kling/tasks/{task_id}", operation_id = "deleteTask", tag = "tasks", security(("bearer" = [])),
    params(("task_id" = String, Path, description = "task id: decimal digits"), ("email" = Option<String>, Query, description = "account selection (§2.4)")),
    responses(
        (status = 200, description = "deleted (cancelled first if unfinished)", body = wire::TaskDeleted),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn delete_task(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    TaskIdPath(id): TaskIdPath,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<wire::TaskDeleted>> {
    let q = query_params(query.as_deref(), &["email"])?;
    let account = select_account(&api, &user, &q).await?;
    let work_ids = api.app.tasks.delete(&account, id).await?;
    Ok(Json(wire::TaskDeleted {
        deleted: work_ids.len() as u32,
        work_ids,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<(Option<TaskCursor>, u32), ErrorCode> {
        list_params(&Params::from_urlencoded(s.as_bytes()))
    }

    #[test]
    fn list_parameters_in_row_order() {
        assert_eq!(q(""), Ok((Some(TaskCursor::Latest), 20)));
        assert_eq!(q("contentType=image"), Ok((None, 20)));
        assert_eq!(
            q("contentType=text&pageSize=0"),
            Err(ErrorCode::ContentTypeParamInvalid)
        );
        assert_eq!(
            q("pageSize=101&createdBefore=-1"),
            Err(ErrorCode::PageSizeInvalid)
        );
        assert_eq!(
            q("createdBefore=-1"),
            Err(ErrorCode::CursorInvalid {
                name: "createdBefore".into()
            })
        );
        assert_eq!(
            q("createdAfter=9007199254740992"),
            Err(ErrorCode::CursorInvalid {
                name: "createdAfter".into()
            })
        );
        assert_eq!(
            q("createdBefore=1&createdAfter=2"),
            Err(ErrorCode::CursorsTogether)
        );
        assert_eq!(
            q("createdAfter=0&pageSize=5"),
            Ok((Some(TaskCursor::After(0)), 5))
        );
    }
}
