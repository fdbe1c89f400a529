//! Contract-shaped request reading (§2.3, §2.7): query strings and the bodies of
//! `POST /accounts` and `POST /videos/motion-upload` (JSON, multipart text parts
//! or form), with the byte limit, the idle timeout and the exact error texts.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use motion_core::error::ErrorCode;
use motion_core::params::Params;

/// The media type of `Content-Type`, lowercased, without parameters; `None` when absent.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    Some(
        text.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// `Content-Length` when present and numeric.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Parses the query string; duplicates of `known` names are a 400.
pub fn query_params(raw: Option<&str>, known: &[&str]) -> Result<Params, ErrorCode> {
    let params = Params::from_urlencoded(raw.unwrap_or("").as_bytes());
    params.check_duplicates(known)?;
    Ok(params)
}

/// Reads a whole body of at most `limit` bytes.
///
/// A `Content-Length` over the limit is refused before anything is read; a body
/// without one (or a lying one) is cut off at `limit + 1` bytes. No byte for
/// `idle` gives `Request body timeout`. Both answers close the connection.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
    idle: Duration,
    too_large: ErrorCode,
) -> Result<Bytes, ErrorCode> {
    if content_length(headers).is_some_and(|n| n > limit) {
        return Err(too_large);
    }
    let mut body = body;
    let mut buf = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(ErrorCode::BodyTimeout),
            Ok(None) => break,
            // The client broke the stream; it will not read an answer anyway.
            Ok(Some(Err(_))) => return Err(ErrorCode::BodyTimeout),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
            if buf.len() as u64 > limit {
                return Err(too_large);
            }
        }
    }
    Ok(buf.freeze())
}

/// Turns a read body into parameters by its Content-Type (§2.3). `known` are the
/// endpoint's field names, checked for duplicates.
pub async fn body_params(
    headers: &HeaderMap,
    bytes: Bytes,
    known: &[&str],
) -> Result<Params, ErrorCode> {
    // An empty body is `{}` under any Content-Type, so required-field errors follow.
    if bytes.is_empty() {
        return Ok(Params::new());
    }
    let params = match media_type(headers).as_deref() {
        Some("application/json") => Params::from_json(&bytes).map_err(ErrorCode::from)?,
        Some("application/x-www-form-urlencoded") => Params::from_urlencoded(&bytes),
        Some("multipart/form-data") => multipart_params(headers, bytes).await?,
        _ => return Err(ErrorCode::BodyContentType),
    };
    params.check_duplicates(known)?;
    Ok(params)
}

/// Text parts only; a part with a `filename` is refused.
async fn multipart_params(headers: &HeaderMap, bytes: Bytes) -> Result<Params, ErrorCode> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| ErrorCode::BodyNotMultipart)?;
    let stream = futures::stream::once(async move { Ok::<Bytes, Infallible>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut params = Params::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(ErrorCode::BodyNotMultipart),
        };
        if field.file_name().is_some() {
            return Err(ErrorCode::BodyFilePart);
        }
        let Some(name) = field.name().map(str::to_owned) else {
            return Err(ErrorCode::BodyNotMultipart);
        };
        let data = field
            .bytes()
            .await
            .map_err(|_| ErrorCode::BodyNotMultipart)?;
        let text = String::from_utf8(data.to_vec()).map_err(|_| ErrorCode::BodyNotMultipart)?;
        params.push_text(name, text);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ct(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
        h
    }

    const KNOWN: &[&str] = &["email", "maxJobs"];

    #[tokio::test]
    async fn bodies_by_content_type() {
        let p = body_params(
            &ct("application/json; charset=utf-8"),
            Bytes::from_static(br#"{"email":"a@b.c"}"#),
            KNOWN,
        )
        .await
        .unwrap();
        assert_eq!(p.string("email"), Ok(Some("a@b.c".into())));
        let p = body_params(
            &ct("Application/X-WWW-Form-Urlencoded"),
            Bytes::from_static(b"maxJobs=3"),
            KNOWN,
        )
        .await
        .unwrap();
        assert_eq!(p.integer("maxJobs", ErrorCode::MaxJobsInvalid), Ok(Some(3)));
        assert!(
            body_params(&HeaderMap::new(), Bytes::new(), KNOWN)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            body_params(&HeaderMap::new(), Bytes::from_static(b"x"), KNOWN).await,
            Err(ErrorCode::BodyContentType)
        );
        assert_eq!(
            body_params(&ct("text/plain"), Bytes::from_static(b"x"), KNOWN).await,
            Err(ErrorCode::BodyContentType)
        );
        assert_eq!(
            body_params(&ct("application/json"), Bytes::from_static(b"{"), KNOWN).await,
            Err(ErrorCode::BodyNotJson)
        );
        assert_eq!(
            body_params(&ct("application/json"), Bytes::from_static(b"[]"), KNOWN).await,
            Err(ErrorCode::BodyNotObject)
        );
        assert_eq!(
            body_params(
                &ct("application/json"),
                Bytes::from_static(br#"{"email":"a","email":"b"}"#),
                KNOWN
            )
            .await,
            Err(ErrorCode::ParamDuplicate {
                name: "email".into()
            })
        );
    }

    #[tokio::test]
    async fn multipart_text_parts_only() {
        let h = ct("multipart/form-data; boundary=XX");
        let body =
            "--XX\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.c\r\n--XX--\r\n";
        let p = body_params(&h, Bytes::from(body), KNOWN).await.unwrap();
        assert_eq!(p.string("email"), Ok(Some("a@b.c".into())));
        let file = "--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.mp4\"\r\n\r\nxx\r\n--XX--\r\n";
        assert_eq!(
            body_params(&h, Bytes::from(file), KNOWN).await,
            Err(ErrorCode::BodyFilePart)
        );
        assert_eq!(
            body_params(&h, Bytes::from_static(b"garbage"), KNOWN).await,
            Err(ErrorCode::BodyNotMultipart)
        );
        assert_eq!(
            body_params(&ct("multipart/form-data"), Bytes::from_static(b"x"), KNOWN).await,
            Err(ErrorCode::BodyNotMultipart),
            "no boundary"
        );
        let dup = "--XX\r\nContent-Disposition: form-data; name=\"maxJobs\"\r\n\r\n1\r\n--XX\r\nContent-Disposition: form-data; name=\"maxJobs\"\r\n\r\n2\r\n--XX--\r\n";
        assert_eq!(
            body_params(&h, Bytes::from(dup), KNOWN).await,
            Err(ErrorCode::ParamDuplicate {
                name: "maxJobs".into()
            })
        );
    }

    #[tokio::test]
    async fn limits_and_timeouts() {
        let too_large = ErrorCode::BodyTooLarge { limit: 4 };
        let idle = Duration::from_secs(5);
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        assert_eq!(
            read_limited(&h, Body::from("12"), 4, idle, too_large.clone()).await,
            Err(too_large.clone()),
            "Content-Length decides before reading"
        );
        let none = HeaderMap::new();
        assert_eq!(
            read_limited(&none, Body::from("12345"), 4, idle, too_large.clone()).await,
            Err(too_large.clone())
        );
        assert_eq!(
            read_limited(&none, Body::from("1234"), 4, idle, too_large.clone())
                .await
                .unwrap(),
            Bytes::from_static(b"1234")
        );
        let (_tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let stalled = Body::from_stream(tokio_stream_from(rx));
        assert_eq!(
            read_limited(&none, stalled, 4, Duration::from_millis(50), too_large).await,
            Err(ErrorCode::BodyTimeout)
        );
    }

    fn tokio_stream_from(
        mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    ) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
