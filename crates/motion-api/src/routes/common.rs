//! Steps shared by the handlers: path ids, account selection, request bodies.

use axum::body::Body;
use axum::http::HeaderMap;
use motion_core::domain::{Account, User};
use motion_core::error::ErrorCode;
use motion_core::params::Params;

use crate::Api;
use crate::body::{body_params, read_limited};
use crate::error::ApiResult;

/// Largest id of the contract (2^53 − 1).
pub const MAX_ID: i64 = 9_007_199_254_740_991;

/// §6.4 `task_id`: decimal digits only, 1..2^53−1, else `Invalid task_id parameter`.
/// Any number of leading zeros is fine; `parse` refuses a value past `i64` (no overflow).
pub fn task_id(raw: &str) -> Result<i64, ErrorCode> {
    let ok = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    match raw.parse::<i64>() {
        Ok(id) if ok && (1..=MAX_ID).contains(&id) => Ok(id),
        _ => Err(ErrorCode::InvalidTaskId),
    }
}

/// §2.4 account selection with the (string) `email` parameter of `params`.
pub async fn select_account(api: &Api, user: &User, params: &Params) -> ApiResult<Account> {
    let email = params.string("email")?;
    Ok(api.app.accounts.select(user.id, email.as_deref()).await?)
}

/// Reads a JSON/multipart/form body of POST accounts or motion-upload (§2.3, §2.7).
pub async fn form_body(
    api: &Api,
    headers: &HeaderMap,
    body: Body,
    known: &[&str],
) -> ApiResult<Params> {
    let limit = api.settings.json_body_bytes;
    let bytes = read_limited(
        headers,
        body,
        limit,
        api.settings.body_idle_timeout,
        ErrorCode::BodyTooLarge { limit },
    )
    .await?;
    Ok(body_params(headers, bytes, known).await?)
}

/// The `{task_id}` path parameter, validated (§2.6 step 4: before query and body).
pub struct TaskIdPath(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for TaskIdPath {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ErrorCode::InvalidTaskId)?;
        Ok(TaskIdPath(task_id(&raw)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids() {
        assert_eq!(task_id("1"), Ok(1));
        assert_eq!(task_id("9007199254740991"), Ok(MAX_ID));
        for bad in [
            "0",
            "",
            "-1",
            "+1",
            "1.0",
            "9007199254740992",
            "99999999999999999999",
            "12a",
            " 1",
        ] {
            assert_eq!(task_id(bad), Err(ErrorCode::InvalidTaskId), "{bad}");
        }
        assert_eq!(task_id("0001"), Ok(1));
        // §6.4 limits the value, not the length.
        assert_eq!(task_id("00000000000000001"), Ok(1));
        assert_eq!(
            task_id(&format!("{}9007199254740991", "0".repeat(40))),
            Ok(MAX_ID)
        );
        for bad in [
            "00000000000000000",
            "09007199254740992",
            "18446744073709551617",
            "340282366920938463463374607431768211457",
        ] {
            assert_eq!(task_id(bad), Err(ErrorCode::InvalidTaskId), "{bad}");
        }
    }
}
