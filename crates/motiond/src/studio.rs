//! The web studio, served from files embedded in the binary.
//!
//! `build.rs` builds `web/` with vite into `$OUT_DIR/studio` whenever a studio source changes,
//! and every file there is compiled into the binary with `rust-embed`, so `motiond serve` needs
//! nothing on disk to show the studio.
//!
//! [`studio_router`] is meant to be the application's fallback: every path that is not an API,
//! file or operations route reaches it. Paths of real files are served with their content type;
//! content-hashed files under `/assets/` are cached for a year; any other path without a file
//! extension is a client-side route and gets `index.html`.

use std::borrow::Cow;
use std::fmt::Write as _;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "$OUT_DIR/studio/"]
struct StudioFiles;

/// Prefixes that belong to the API, the file server and the operations endpoints
/// (contract §2.1). They never fall back to the studio, even if they reach this router.
const RESERVED_PREFIXES: [&str; 6] = [
    "/v1/kling",
    "/files",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
];

/// Vite names files under `assets/` after a hash of their content, so they never change.
const IMMUTABLE_CACHE: &str = "public, max-age=31536000, immutable";
/// Everything else (index.html above all) is revalidated with its ETag on each load.
const REVALIDATE_CACHE: &str = "no-cache";

/// The studio talks only to its own origin; file URLs may point at another host when
/// `server.public_url` differs from the address in the browser, or at presigned object-store
/// URLs, so images, media and fetches may also use http(s) origins.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob: http: https:; media-src 'self' blob: http: https:; \
     connect-src 'self' http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The router that serves the studio for every request it receives. Mount it as the
/// application's fallback: `app.fallback_service(studio_router())`.
pub fn studio_router() -> Router {
    Router::new().fallback(serve)
}

async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    // The API's paths are the API's whatever the method: never the studio's 405.
    if is_reserved(path) {
        return json_error(StatusCode::NOT_FOUND, "Not found", false);
    }
    if method != Method::GET && method != Method::HEAD {
        return json_error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", true);
    }
    let Some((name, file)) = resolve(path) else {
        return json_error(StatusCode::NOT_FOUND, "Not found", false);
    };
    file_response(&name, &file, &headers, method == Method::HEAD)
}

fn is_reserved(path: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Maps a request path to an embedded file: the file itself, or `index.html` for `/` and
/// client-side routes. A missing path that looks like a file (its last segment has a dot) is
/// a 404 rather than the page, so a broken asset link fails visibly.
fn resolve(path: &str) -> Option<(String, rust_embed::EmbeddedFile)> {
    let relative = path.trim_start_matches('/');
    if !relative.is_empty() {
        if let Some(file) = StudioFiles::get(relative) {
            return Some((relative.to_owned(), file));
        }
        let last = relative.rsplit('/').next().unwrap_or_default();
        if last.contains('.') || relative.starts_with("assets/") {
            return None;
        }
    }
    StudioFiles::get("index.html").map(|file| ("index.html".to_owned(), file))
}

fn file_response(
    name: &str,
    file: &rust_embed::EmbeddedFile,
    request: &HeaderMap,
    head: bool,
) -> Response {
    let etag = etag_of(file);
    let cache = if name.starts_with("assets/") {
        IMMUTABLE_CACHE
    } else {
        REVALIDATE_CACHE
    };
    let mut response = if if_none_match(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let length = file.data.len();
        let body = match (&file.data, head) {
            (_, true) => Body::empty(),
            // Embedded files live in the binary: serve them without copying.
            (Cow::Borrowed(bytes), false) => Body::from(Bytes::from_static(bytes)),
            (Cow::Owned(bytes), false) => Body::from(bytes.clone()),
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, content_type(name, file));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex ETag is a valid header"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if name.ends_with(".html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    response
}

/// A strong ETag from the SHA-256 that rust-embed computed at build time.
fn etag_of(file: &rust_embed::EmbeddedFile) -> String {
    let mut etag = String::with_capacity(2 + 32);
    etag.push('"');
    for byte in &file.metadata.sha256_hash()[..16] {
        let _ = write!(etag, "{byte:02x}");
    }
    etag.push('"');
    etag
}

fn if_none_match(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|value| {
            value.split(',').map(str::trim).any(|candidate| {
                candidate == "*" || candidate == etag || candidate.strip_prefix("W/") == Some(etag)
            })
        })
}

/// The content type guessed from the file name; text types say they are UTF-8, which is what
/// the build writes.
fn content_type(name: &str, file: &rust_embed::EmbeddedFile) -> HeaderValue {
    let mime = file.metadata.mimetype();
    let textual = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "image/svg+xml"
        );
    let value = if name.ends_with(".js") || name.ends_with(".mjs") {
        "text/javascript; charset=utf-8".to_owned()
    } else if textual && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// Errors use the API's JSON envelope, so clients see one shape everywhere.
fn json_error(status: StatusCode, text: &'static str, allow: bool) -> Response {
    let body = format!("{{\"error\":\"{text}\"}}");
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if allow {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str) -> Response {
        request(Method::GET, path, &[]).await
    }

    async fn request(method: Method, path: &str, extra: &[(&str, &str)]) -> Response {
        let mut builder = Request::builder().method(method).uri(path);
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        studio_router()
            .oneshot(builder.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn body_text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn header_of(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The hashed entry script that index.html loads, e.g. `assets/index-AbC123.js`.
    fn entry_script() -> String {
        StudioFiles::iter()
            .find(|name| name.starts_with("assets/") && name.ends_with(".js"))
            .expect("the studio build has a script under assets/")
            .into_owned()
    }

    #[tokio::test]
    async fn root_serves_the_studio_page_revalidated() {
        let response = get("/").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache");
        assert!(
            header_of(&response, header::CONTENT_SECURITY_POLICY).contains("default-src 'self'")
        );
        let html = body_text(response).await;
        assert!(html.contains("motiond studio"), "{html}");
        assert!(
            html.contains(&entry_script()),
            "index.html loads the hashed entry script"
        );
    }

    #[tokio::test]
    async fn client_side_routes_get_the_page() {
        for path in [
            "/create",
            "/official/-100000000000001",
            "/mine/123456",
            "/signin?next=%2F",
        ] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert!(
                body_text(response).await.contains("<div id=\"notice\""),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_immutable_with_their_type() {
        let response = get(&format!("/{}", entry_script())).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header_of(&response, header::CACHE_CONTROL), IMMUTABLE_CACHE);
        assert_eq!(
            header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
        let css = StudioFiles::iter()
            .find(|n| n.ends_with(".css"))
            .unwrap()
            .into_owned();
        let response = get(&format!("/{css}")).await;
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "text/css; charset=utf-8"
        );
        let response = get("/favicon.svg").await;
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "image/svg+xml; charset=utf-8"
        );
        assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache");
    }

    #[tokio::test]
    async fn missing_files_are_not_found_instead_of_the_page() {
        for path in ["/nothing.png", "/assets/index-gone.js", "/assets/sub"] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(body_text(response).await, r#"{"error":"Not found"}"#);
        }
    }

    #[tokio::test]
    async fn reserved_paths_never_fall_back_to_the_page() {
        for path in [
            "/v1/kling",
            "/v1/kling/unknown",
            "/files/x/y",
            "/healthz",
            "/metrics",
            "/openapi.json",
        ] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(
                header_of(&response, header::CONTENT_TYPE),
                "application/json"
            );
        }
        // Only whole path segments are reserved.
        assert_eq!(get("/filesystem-guide").await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn other_methods_are_refused_with_allow() {
        let response = request(Method::POST, "/", &[]).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header_of(&response, header::ALLOW), "GET, HEAD");
        assert_eq!(
            body_text(response).await,
            r#"{"error":"Method not allowed"}"#
        );
    }

    #[tokio::test]
    async fn head_has_headers_and_no_body() {
        let full = get("/").await;
        let length = header_of(&full, header::CONTENT_LENGTH).to_owned();
        let response = request(Method::HEAD, "/", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header_of(&response, header::CONTENT_LENGTH), length);
        assert!(body_text(response).await.is_empty());
    }

    #[tokio::test]
    async fn matching_etag_gives_not_modified() {
        let first = get("/").await;
        let etag = header_of(&first, header::ETAG).to_owned();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let response = request(Method::GET, "/create", &[("if-none-match", &etag)]).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header_of(&response, header::ETAG), etag);
        assert!(body_text(response).await.is_empty());
        let other = request(Method::GET, "/", &[("if-none-match", "\"other\"")]).await;
        assert_eq!(other.status(), StatusCode::OK);
    }
}
