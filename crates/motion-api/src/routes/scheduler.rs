//! §7 scheduler: unfinished tasks and capacity of all the user's accounts; cancel.

use axum::Json;
use axum::extract::State;
use axum::routing::{delete, get};
use motion_core::wire;

use super::common::TaskIdPath;
use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::{Api, ApiRouter, route2};

pub fn routes(r: ApiRouter) -> ApiRouter {
    let r = route2(r, "/v1/kling/scheduler", get(list_scheduler));
    let r = route2(r, "/v1/kling/scheduler/available", get(scheduler_available));
    route2(r, "/v1/kling/scheduler/{task_id}", delete(cancel_task))
}

/// `GET /scheduler` (§7.1).
#[utoipa::path(
    get, path = "/v1/kling/scheduler", operation_id = "listScheduler", tag = "scheduler", security(("bearer" = [])),
    responses(
        (status = 200, description = "unfinished tasks", body = Vec<wire::SchedulerEntry>),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn list_scheduler(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<wire::SchedulerEntry>>> {
    let (entries, now) = api.app.scheduler.executing(user.id).await?;
    Ok(Json(
        entries.iter().map(|e| scheduler_entry(e, now)).collect(),
    ))
}

/// `GET /scheduler/available` (§7.2).
#[utoipa::path(
    get, path = "/v1/kling/scheduler/available", operation_id = "getSchedulerAvailable", tag = "scheduler", security(("bearer" = [])),
    responses(
        (status = 200, description = "capacity per account", body = wire::SchedulerAvailable),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn scheduler_available(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<wire::SchedulerAvailable>> {
    let a = api.app.scheduler.available(user.id).await?;
    Ok(Json(wire::SchedulerAvailable {
        executing: a
            .executing
            .iter()
            .map(|e| scheduler_entry(e, a.now))
            .collect(),
        available: a
            .available
            .iter()
            .map(|c| wire::AccountCapacity {
                email: c.email.clone(),
                max_jobs: c.max_jobs,
                executing: c.executing,
                available: c.available(),
            })
            .collect(),
    }))
}

/// `DELETE /scheduler/{task_id}` (§7.3).
#[utoipa::path(
    delete, path = "/v1/kling/scheduler/{task_id}", operation_id = "cancelSchedulerTask", tag = "scheduler", security(("bearer" = [])),
    params(("task_id" = String, Path, description = "task id: decimal digits")),
    responses(
        (status = 200, description = "cancelled", body = wire::TaskCanceled),
        (status = 400, description = "invalid input", body = wire::ErrorBody),
        (status = 401, description = "authentication failed", body = wire::ErrorBody),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 429, description = "rate limit", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn cancel_task(
    State(api): State<Api>,
    AuthUser(user): AuthUser,
    TaskIdPath(id): TaskIdPath,
) -> ApiResult<Json<wire::TaskCanceled>> {
    api.app.tasks.cancel(user.id, id).await?;
    // A transition to failed (status 50); a worker whose job is stopped by it counts nothing.
    metrics::counter!("motiond_tasks_total", "status_name" => "failed").increment(1);
    Ok(Json(wire::TaskCanceled::new(id)))
}

fn scheduler_entry(e: &motion_core::domain::SchedulerEntry, now: i64) -> wire::SchedulerEntry {
    wire::SchedulerEntry {
        id: e.task_id,
        email: e.email.clone(),
        started: motion_core::clock::rfc3339_millis(e.create_time),
        elapsed: wire::format_elapsed(now - e.create_time),
        reply_url: e.reply_url.clone(),
        reply_ref: e.reply_ref.clone(),
    }
}
