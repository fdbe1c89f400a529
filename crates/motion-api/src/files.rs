//! `GET`/`HEAD /files/{fid}/{name}` (contract §9.1): capability URLs with Range,
//! ETag, `If-None-Match` (304) and `If-Range`. No authentication, no rate limit.

use std::ops::Range;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use motion_core::domain::StoredFile;
use motion_core::error::ErrorCode;
use motion_core::wire;
use tokio_util::io::ReaderStream;

use crate::error::{ApiError, ApiResult};
use crate::{Api, ApiRouter};

pub fn routes() -> ApiRouter {
    ApiRouter::new().route("/files/{fid}/{name}", get(get_file))
}

/// What the `Range` header asks for, against a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range (absent, several ranges, or bad syntax): the whole file.
    Full,
    /// One satisfiable range.
    Part(Range<u64>),
    /// One range starting at or past the end.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (one range only).
pub fn parse_range(value: &str, len: u64) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (a.is_empty(), num(a), num(b)) {
        // bytes=-n: the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || len == 0 {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part(len.saturating_sub(n)..len)
            }
        }
        (false, Some(start), end) if b.is_empty() || end.is_some() => {
            if end.is_some_and(|e| e < start) {
                return RangeRequest::Full;
            }
            if start >= len {
                return RangeRequest::Unsatisfiable;
            }
            let end = end.map_or(len, |e| e.saturating_add(1).min(len));
            RangeRequest::Part(start..end)
        }
        _ => RangeRequest::Full,
    }
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Headers common to 200, 206 and 304.
fn file_headers(file: &StoredFile, etag: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let modified = UNIX_EPOCH + Duration::from_millis(file.created_at.max(0) as u64);
    let disposition = if file.name.ends_with(".zip") {
        "attachment"
    } else {
        "inline"
    };
    let pairs = [
        (header::ETAG, etag.to_owned()),
        (header::LAST_MODIFIED, httpdate::fmt_http_date(modified)),
        (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
        (header::CONTENT_TYPE, file.content_type.clone()),
        (header::ACCEPT_RANGES, "bytes".to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!("{disposition}; filename=\"{}\"", file.name),
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox".to_owned(),
        ),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    h
}

/// `GET`/`HEAD /files/{fid}/{name}`.
#[utoipa::path(
    get, path = "/files/{fid}/{name}", operation_id = "getFile", tag = "files",
    params(("fid" = String, Path), ("name" = String, Path)),
    responses(
        (status = 200, description = "the file", content((crate::openapi::Binary = "video/mp4"), (crate::openapi::Binary = "video/quicktime"), (crate::openapi::Binary = "image/jpeg"), (crate::openapi::Binary = "image/png"), (crate::openapi::Binary = "application/zip"))),
        (status = 206, description = "a range of the file", content((crate::openapi::Binary = "video/mp4"), (crate::openapi::Binary = "video/quicktime"), (crate::openapi::Binary = "image/jpeg"), (crate::openapi::Binary = "image/png"), (crate::openapi::Binary = "application/zip"))),
        (status = 304, description = "not modified"),
        (status = 404, description = "not found", body = wire::ErrorBody),
        (status = 416, description = "range not satisfiable", body = wire::ErrorBody),
        (status = 500, description = "internal error", body = wire::ErrorBody),
        (status = 503, description = "storage unavailable", body = wire::ErrorBody)
    )
)]
pub async fn get_file(
    State(api): State<Api>,
    method: Method,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Response> {
    let Ok(Path((fid, name))) = path else {
        return Err(ApiError::new(ErrorCode::NotFound));
    };
    let file = api.app.files.lookup(&fid, &name).await?;
    let etag = format!("\"{}\"", file.fid);
    let mut out = file_headers(&file, &etag);
    if header_str(&headers, header::IF_NONE_MATCH).is_some_and(|l| etag_matches(l, &etag)) {
        out.remove(header::CONTENT_TYPE);
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    let if_range_ok = header_str(&headers, header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    let range = match header_str(&headers, header::RANGE) {
        Some(v) if if_range_ok => parse_range(v, file.size),
        _ => RangeRequest::Full,
    };
    let (status, range) = match range {
        RangeRequest::Full => (StatusCode::OK, 0..file.size),
        RangeRequest::Part(r) => (StatusCode::PARTIAL_CONTENT, r),
        RangeRequest::Unsatisfiable => {
            return Err(ApiError::new(ErrorCode::RangeNotSatisfiable {
                len: file.size,
            }));
        }
    };
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {}-{}/{}", range.start, range.end - 1, file.size);
        out.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&value).expect("ascii"),
        );
    }
    out.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(range.end - range.start),
    );
    // HEAD answers what GET would (§2.1): the blob is opened for it too, so a file whose blob
    // is gone or out of reach gets GET's 404 or 503; only the body is left out.
    let part = (status == StatusCode::PARTIAL_CONTENT).then(|| range.clone());
    let read = api.app.files.open(&file, part).await?;
    if method == Method::HEAD {
        return Ok((status, out).into_response());
    }
    Ok((
        status,
        out,
        Body::from_stream(ReaderStream::new(read.reader)),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Part(0..10));
        assert_eq!(parse_range("bytes=90-", 100), Part(90..100));
        assert_eq!(parse_range("bytes=90-500", 100), Part(90..100));
        assert_eq!(parse_range("bytes=-10", 100), Part(90..100));
        assert_eq!(parse_range("bytes=-500", 100), Part(0..100));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=100-200", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Full);
        assert_eq!(parse_range("bytes=5-1", 100), Full);
        assert_eq!(parse_range("items=0-1", 100), Full);
        assert_eq!(parse_range("bytes=a-b", 100), Full);
        assert_eq!(parse_range("bytes=-", 100), Full);
        assert_eq!(parse_range("bytes=0-0", 0), Unsatisfiable);
    }

    #[test]
    fn etags() {
        assert!(etag_matches("\"x\"", "\"x\""));
        assert!(etag_matches("\"y\", \"x\"", "\"x\""));
        assert!(etag_matches("*", "\"x\""));
        assert!(etag_matches("W/\"x\"", "\"x\""));
        assert!(!etag_matches("\"y\"", "\"x\""));
    }
}
