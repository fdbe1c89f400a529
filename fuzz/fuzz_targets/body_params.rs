//! POST bodies of `/accounts` and `/videos/motion-upload` (contract §2.3, §2.7): the bounded
//! body reader, then JSON / form / multipart (text parts) into parameters, then the field
//! rules. Nothing may panic; the limit must hold exactly; a multipart file part is refused.
#![no_main]

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use motion_api::body::{body_params, query_params, read_limited};
use motion_api::validate;
use motion_core::error::ErrorCode;

const KNOWN: &[&str] = &[
    "email",
    "resourceUrl",
    "coverUrl",
    "maxJobs",
    "replyUrl",
    "replyRef",
    "workName",
];
const BOUNDARY: &str = "XyZfuzzBoundary";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// The first byte picks the Content-Type; for multipart, the input may also carry its own
/// header value (first line) so that boundary parsing is fuzzed too.
fn split(data: &[u8]) -> (HeaderMap, &[u8]) {
    let mut headers = HeaderMap::new();
    let Some((&selector, rest)) = data.split_first() else {
        return (headers, data);
    };
    let ct = match selector % 6 {
        0 => "application/json".to_string(),
        1 => "application/x-www-form-urlencoded".to_string(),
        2 => format!("multipart/form-data; boundary={BOUNDARY}"),
        3 => {
            // Own Content-Type line.
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let line = String::from_utf8_lossy(&rest[..end]).into_owned();
            let body = rest.get(end + 1..).unwrap_or(&[]);
            if let Ok(v) = HeaderValue::from_str(&line) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            return (headers, body);
        }
        4 => "text/plain".to_string(),
        _ => return (headers, rest),
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&ct).unwrap());
    (headers, rest)
}

fuzz_target!(|data: &[u8]| {
    let (headers, body) = split(data);
    let body = Bytes::copy_from_slice(body);
    runtime().block_on(async {
        // The reader: the body is returned whole iff it is within the limit.
        let limit = (data.len() as u64 / 2).max(1);
        let read = read_limited(
            &headers,
            Body::from(body.clone()),
            limit,
            Duration::from_secs(5),
            ErrorCode::BodyTooLarge { limit },
        )
        .await;
        match read {
            Ok(b) => assert!(
                b == body && b.len() as u64 <= limit,
                "reader returned other bytes"
            ),
            Err(e) => assert!(
                body.len() as u64 > limit,
                "reader refused a body within the limit: {e:?}"
            ),
        }

        let Ok(params) = body_params(&headers, body.clone(), KNOWN).await else {
            return;
        };
        // Every field rule must answer (Ok or a contract error), never panic.
        let _ = validate::max_jobs(&params);
        let _ = validate::reply_url(&params, false);
        let _ = validate::reply_url(&params, true);
        let _ = validate::bounded_string(&params, "workName", 100, ErrorCode::WorkNameTooLong);
        if let Ok(Some(email)) = params.string("email") {
            let _ = validate::email_syntax(&email);
        }
    });
    // The same bytes as a query string.
    if let Ok(q) = std::str::from_utf8(data) {
        let _ = query_params(Some(q), KNOWN);
    }
});
