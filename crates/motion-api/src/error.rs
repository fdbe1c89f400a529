//! The single `IntoResponse` of the API: every error row of
//! [`motion_core::error::ErrorCode`] becomes a response here, and nowhere else.
//!
//! Internal details (the source of a 500 or 503) are logged inside the request
//! span, never sent.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use motion_core::error::{BoxError, ErrorCode, ServiceError};
use motion_core::ports::StoreError;

/// An error on its way to the client: the contract row, and the cause for the log.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    source: Option<BoxError>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, source: None }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        let code = err.code();
        let source = match err {
            ServiceError::Client(_) => None,
            ServiceError::Unavailable(src) | ServiceError::Internal(src) => Some(src),
        };
        Self { code, source }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => Self {
                code: ErrorCode::Unavailable,
                source: Some(Box::new(err)),
            },
            _ => Self {
                code: ErrorCode::Internal,
                source: Some(Box::new(err)),
            },
        }
    }
}

/// Builds the response of a row: status, JSON body in key order, extra headers.
pub fn error_response(code: &ErrorCode) -> Response {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        code.body_json(),
    )
        .into_response();
    for (name, value) in code.headers() {
        // The Allow value of a 405 is filled in by the router (it knows the methods).
        if value.is_empty() {
            continue;
        }
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(HeaderName::from_static(name), v);
        }
    }
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match (&self.code, &self.source) {
            (ErrorCode::Internal, Some(src)) => {
                tracing::error!(error = %chain(src.as_ref()), "internal error")
            }
            (ErrorCode::Unavailable, Some(src)) => {
                tracing::warn!(error = %chain(src.as_ref()), "storage unavailable")
            }
            _ => {}
        }
        error_response(&self.code)
    }
}

/// The full error chain in one line, for the log.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cur = e.source();
    }
    text
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn parts(err: ApiError) -> (u16, Vec<(String, String)>, String) {
        let res = err.into_response();
        let status = res.status().as_u16();
        let mut headers: Vec<(String, String)> = res
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn one_response_per_row_with_its_headers() {
        let json = ("content-type", "application/json");
        assert_eq!(
            parts(ErrorCode::Unauthorized.into()).await,
            (
                401,
                h(&[json, ("www-authenticate", "Bearer")]),
                r#"{"error":"Unauthorized","code":401}"#.to_owned()
            )
        );
        assert_eq!(
            parts(ErrorCode::TooManyRequests { retry_after_s: 3 }.into()).await,
            (
                429,
                h(&[json, ("retry-after", "3")]),
                r#"{"error":"Too many requests","code":429}"#.to_owned()
            )
        );
        assert_eq!(
            parts(ErrorCode::BodyTooLarge { limit: 9 }.into()).await,
            (
                413,
                h(&[json, ("connection", "close")]),
                r#"{"error":"Request body too large: the limit is 9 bytes"}"#.to_owned()
            )
        );
        // The router adds Allow itself; an empty value is not sent.
        assert_eq!(
            parts(
                ErrorCode::MethodNotAllowed {
                    allow: String::new()
                }
                .into()
            )
            .await,
            (
                405,
                h(&[json]),
                r#"{"error":"Method not allowed"}"#.to_owned()
            )
        );
    }

    #[tokio::test]
    async fn internal_details_never_reach_the_client() {
        let (status, headers, body) =
            parts(ServiceError::internal("open /data/secret.db: denied").into()).await;
        assert_eq!(
            (status, body.as_str()),
            (500, r#"{"error":"Internal server error"}"#)
        );
        assert_eq!(headers, h(&[("content-type", "application/json")]));
        let (status, headers, body) =
            parts(StoreError::Unavailable("pool closed".into()).into()).await;
        assert_eq!(
            (status, body.as_str()),
            (503, r#"{"error":"Service unavailable, retry later"}"#)
        );
        assert!(headers.contains(&("retry-after".to_owned(), "5".to_owned())));
        let (status, _, body) = parts(StoreError::Internal("corrupt row 7".into()).into()).await;
        assert_eq!(
            (status, body.as_str()),
            (500, r#"{"error":"Internal server error"}"#)
        );
    }
}
