//! Building the app in a temp dir, issuing tokens, sending requests.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use motion_core::clock::{Clock, SystemClock};
use motion_core::ids::{TokenHash, new_api_token};
use motion_core::ports::{TokenStore, UserStore};
use serde_json::Value;
use tower::ServiceExt;

pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// `/work/shared/testdata` (tests may read it; the product never does).
pub fn testdata(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata"
    ))
    .join(rel)
}

pub fn read_testdata(rel: &str) -> Vec<u8> {
    let path = testdata(rel);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "test data {} missing ({e}): run scripts/test.sh",
            path.display()
        )
    })
}

/// `MOTIOND_MODELS_DIR`, else `<workspace>/.data/models`.
pub fn models_dir() -> std::path::PathBuf {
    std::env::var_os("MOTIOND_MODELS_DIR")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.data/models"))
                .to_path_buf()
        })
}

/// One application over its own temp data dir.
pub struct TestApp {
    pub app: motiond::App,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// With configuration changes (limits, …) applied before building.
    pub async fn with(change: impl FnOnce(&mut motiond::Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = motiond::Config::for_data_dir(dir.path());
        config.server.listen = "127.0.0.1:8080".into();
        // Background work is driven by the tests themselves.
        config.worker.enabled = false;
        config.models.dir = models_dir().display().to_string();
        change(&mut config);
        let app = motiond::build_app(config).await.expect("build_app");
        Self { app, _dir: dir }
    }

    /// Creates the user if needed and issues a new token for it.
    pub async fn token(&self, user: &str) -> String {
        let now = SystemClock.now_ms();
        let u = self
            .app
            .store
            .ensure_user(user, now)
            .await
            .expect("ensure user");
        let token = new_api_token();
        self.app
            .store
            .add_token(u.id, &TokenHash::of_token(&token), now)
            .await
            .expect("add token");
        token
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self
            .app
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("infallible router");
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        Resp {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    /// A request with an optional bearer token and no body.
    pub async fn call(&self, method: Method, uri: &str, token: Option<&str>) -> Resp {
        self.send(req(method, uri, token).body(Body::empty()).unwrap())
            .await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Resp {
        self.call(Method::GET, uri, Some(token)).await
    }

    pub async fn delete(&self, uri: &str, token: &str) -> Resp {
        self.call(Method::DELETE, uri, Some(token)).await
    }

    pub async fn post_json(&self, uri: &str, token: &str, body: Value) -> Resp {
        self.post_raw(
            uri,
            token,
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
    }

    pub async fn post_raw(
        &self,
        uri: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let r = req(Method::POST, uri, Some(token)).header(header::CONTENT_TYPE, content_type);
        self.send(r.body(Body::from(body)).unwrap()).await
    }

    /// Creates an account and checks the 201.
    pub async fn account(&self, token: &str, email: &str, max_jobs: u32) -> Value {
        let r = self
            .post_json(
                "/v1/kling/accounts",
                token,
                serde_json::json!({"email": email, "maxJobs": max_jobs}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    /// Uploads a test file to the account; returns the 200 body.
    pub async fn upload(&self, token: &str, email: &str, content_type: &str, rel: &str) -> Value {
        let r = self
            .post_raw(
                &format!("/v1/kling/assets?email={}", enc(email)),
                token,
                content_type,
                read_testdata(rel),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "upload {rel}: {}", r.text());
        r.json()
    }

    /// A video (4.0 s) and an image uploaded, then a motion-upload; returns the envelope.
    pub async fn submit_task(&self, token: &str, email: &str) -> Value {
        let video = self.upload(token, email, "video/mp4", DANCE).await;
        let body = serde_json::json!({"email": email, "resourceUrl": video["resourceUrl"], "coverUrl": video["coverUrl"]});
        let r = self
            .post_json("/v1/kling/videos/motion-upload", token, body)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }
}

/// 4.0 s, 576x576, 30 fps, one person.
pub const DANCE: &str = "videos/tfjs_pose_1_synthetic_dance.mp4";
/// 13.0 s: over the upload limit.
pub const SQUATS_13S: &str = "videos/tfjs_pose_squats.mp4";
/// 1.67 s: uploads fine, too short for motion-upload.
pub const SHORT_1_7S: &str = "videos/pose2sim_demo_singleperson/videos/cam01.mp4";
/// 512x512 PNG.
pub const PNG: &str = "images/skimage_astronaut.png";
pub const JPEG: &str = "images/tfjs_pose_yoga.jpg";

pub fn req(method: Method, uri: &str, token: Option<&str>) -> axum::http::request::Builder {
    let b = Request::builder().method(method).uri(uri);
    match token {
        Some(t) => b.header(header::AUTHORIZATION, format!("Bearer {t}")),
        None => b,
    }
}

/// Percent-encodes a query value (`+` and `@` included).
pub fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and the exact body bytes.
    #[track_caller]
    pub fn assert(&self, status: u16, body: &str) {
        assert_eq!((self.status.as_u16(), self.text().as_str()), (status, body));
    }

    /// Asserts a contract error row: status, exact body, JSON content type.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str) {
        let body = serde_json::json!({ "error": error }).to_string();
        self.assert(status, &body);
        assert_eq!(self.header("content-type"), Some("application/json"));
    }

    /// Everything but the headers that legitimately differ between two requests.
    pub fn comparable(&self) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "x-request-id" | "date"))
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        headers.sort();
        (self.status.as_u16(), headers, self.body.clone())
    }
}
