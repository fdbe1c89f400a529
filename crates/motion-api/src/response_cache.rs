//! Reuse of rendered answers to hot authenticated reads while nothing was committed.
//!
//! Why: clients poll `GET /tasks/{id}` and page through `GET /videos/motions`. Each answer is a
//! pure function of the stored data, the token and the URI, yet rendering it costs a token
//! lookup, an account lookup, a database read, 40 × 4 capability URLs and the JSON: several
//! times the cost of the HTTP exchange itself. The store's [`ChangeStamp`] says, in a few
//! microseconds, whether any process has committed since; while it has not, the bytes rendered
//! for the same token and URI are still exactly the answer.
//!
//! The protocol: read the stamp before anything else; serve a kept answer only if it was kept
//! under that same stamp (a new stamp drops every kept answer); keep a fresh answer only under
//! the stamp read before it was rendered, and only while no newer stamp has been seen. A
//! revoked token, a deleted account, a finished task are all commits, so a kept answer never
//! outlives the data, the token or the account it was rendered from.
//!
//! Only the allow-listed routes are kept: their answers depend on nothing else (no clock, no
//! request header). Only 200 answers of bounded size are kept, within a bounded total.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use motion_core::error::ErrorCode;
use motion_core::ids::TokenHash;
use motion_core::ports::ChangeStamp;

use crate::error::ApiError;

/// Route templates whose 200 answer is a function of (stored data, token, URI) only.
const KEPT_ROUTES: &[&str] = &[
    "/v1/kling/tasks/{task_id}",
    "/v1/kling/tasks/{task_id}/",
    "/v1/kling/tasks",
    "/v1/kling/tasks/",
    "/v1/kling/videos/motions",
    "/v1/kling/videos/motions/",
    "/v1/kling/accounts",
    "/v1/kling/accounts/",
    "/v1/kling/accounts/{email}",
    "/v1/kling/accounts/{email}/",
];

/// The largest answer kept (a page of 100 motions is about 50 KB).
const MAX_ANSWER_BYTES: u64 = 256 * 1024;
/// The most bytes kept in all; past it everything is dropped and refilled by later reads.
const MAX_TOTAL_BYTES: usize = 16 * 1024 * 1024;

/// A kept answer: its headers and body (the status is 200).
#[derive(Clone)]
struct Answer {
    headers: HeaderMap,
    body: Bytes,
}

/// The kept answers of one stamp.
struct Shelf {
    stamp: i64,
    answers: HashMap<(TokenHash, String), Answer>,
    bytes: usize,
}

impl Shelf {
    fn empty(stamp: i64) -> Self {
        Self {
            stamp,
            answers: HashMap::new(),
            bytes: 0,
        }
    }
}

/// A cacheable request in flight: its key and the stamp read when it arrived.
pub struct Pending {
    key: (TokenHash, String),
    stamp: i64,
}

/// See the module documentation.
pub struct ResponseCache {
    stamps: Arc<dyn ChangeStamp>,
    shelf: Mutex<Shelf>,
}

impl ResponseCache {
    pub fn new(stamps: Arc<dyn ChangeStamp>) -> Self {
        Self {
            stamps,
            shelf: Mutex::new(Shelf::empty(i64::MIN)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shelf> {
        // Plain data: a panic mid-update leaves at worst a missing or extra kept answer whose
        // bytes are still correct for its stamp.
        self.shelf.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Step 1 for a request of `token` to `uri`, routed to the template `route`: `None` if it
    /// is not a kept read or the store cannot tell its stamp. Drops every kept answer if the
    /// stamp moved.
    pub fn begin(
        &self,
        method: &Method,
        route: Option<&str>,
        uri: &Uri,
        token: &TokenHash,
    ) -> Option<Pending> {
        if method != Method::GET || !route.is_some_and(|r| KEPT_ROUTES.contains(&r)) {
            return None;
        }
        let stamp = self.stamps.stamp()?;
        let mut shelf = self.lock();
        if shelf.stamp != stamp {
            *shelf = Shelf::empty(stamp);
        }
        let uri = uri.path_and_query()?.as_str().to_owned();
        Some(Pending {
            key: (token.clone(), uri),
            stamp,
        })
    }

    /// The kept answer of the request, if one was kept under its stamp.
    pub fn answer(&self, pending: &Pending) -> Option<Response> {
        let shelf = self.lock();
        if shelf.stamp != pending.stamp {
            return None;
        }
        let answer = shelf.answers.get(&pending.key)?.clone();
        drop(shelf);
        let mut res = Response::new(Body::from(answer.body));
        *res.headers_mut() = answer.headers;
        Some(res)
    }

    /// Step 2: keeps a fresh 200 answer of bounded size under the request's stamp, and returns
    /// it unchanged to be sent.
    pub async fn keep(&self, pending: Pending, res: Response) -> Response {
        let size = res.body().size_hint().exact();
        if res.status() != StatusCode::OK || size.is_none_or(|n| n > MAX_ANSWER_BYTES) {
            return res;
        }
        let (parts, body) = res.into_parts();
        // Exact and bounded: collecting reads an in-memory body. Should its stream fail anyway,
        // the answer is lost and the contract's 500 is all that can honestly be sent.
        let body = match axum::body::to_bytes(body, MAX_ANSWER_BYTES as usize).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(error = %e, "response cache: the answer's body failed");
                return ApiError::new(ErrorCode::Internal).into_response();
            }
        };
        self.store(pending, &parts.headers, &body);
        Response::from_parts(parts, Body::from(body))
    }

    fn store(&self, pending: Pending, headers: &HeaderMap, body: &Bytes) {
        let mut shelf = self.lock();
        if shelf.stamp != pending.stamp {
            return;
        }
        if shelf.bytes + body.len() > MAX_TOTAL_BYTES {
            *shelf = Shelf::empty(pending.stamp);
        }
        shelf.bytes += body.len() + pending.key.1.len();
        let answer = Answer {
            headers: headers.clone(),
            body: body.clone(),
        };
        shelf.answers.insert(pending.key, answer);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use axum::http::header;

    use super::*;

    const TASK: Option<&str> = Some("/v1/kling/tasks/{task_id}");

    #[derive(Default)]
    struct FakeStamps(AtomicI64);

    impl ChangeStamp for FakeStamps {
        fn stamp(&self) -> Option<i64> {
            Some(self.0.load(Ordering::SeqCst))
        }
    }

    fn setup() -> (Arc<FakeStamps>, ResponseCache, TokenHash, Uri) {
        let stamps = Arc::new(FakeStamps::default());
        let cache = ResponseCache::new(stamps.clone());
        (
            stamps,
            cache,
            TokenHash::of_token("t"),
            Uri::from_static("/v1/kling/tasks/1?email=a%40b.c"),
        )
    }

    fn json(body: &'static str) -> Response {
        let mut res = Response::new(Body::from(body));
        res.headers_mut()
            .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        res
    }

    async fn text(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn an_answer_is_reused_only_while_the_stamp_is_unchanged() {
        let (stamps, cache, token, uri) = setup();
        let pending = cache.begin(&Method::GET, TASK, &uri, &token).unwrap();
        assert!(cache.answer(&pending).is_none());
        let sent = cache.keep(pending, json("{\"a\":1}")).await;
        assert_eq!(
            text(sent).await,
            "{\"a\":1}",
            "the fresh answer is sent unchanged"
        );

        let again = cache.begin(&Method::GET, TASK, &uri, &token).unwrap();
        let hit = cache.answer(&again).expect("kept");
        assert_eq!(hit.status(), StatusCode::OK);
        assert_eq!(hit.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(text(hit).await, "{\"a\":1}");

        let other_token = TokenHash::of_token("u");
        let other = cache.begin(&Method::GET, TASK, &uri, &other_token).unwrap();
        assert!(cache.answer(&other).is_none(), "kept per token");
        let other_uri = Uri::from_static("/v1/kling/tasks/1");
        let other = cache.begin(&Method::GET, TASK, &other_uri, &token).unwrap();
        assert!(
            cache.answer(&other).is_none(),
            "kept per URI, query included"
        );

        stamps.0.store(1, Ordering::SeqCst);
        let after_commit = cache.begin(&Method::GET, TASK, &uri, &token).unwrap();
        assert!(cache.answer(&after_commit).is_none(), "a commit drops it");
    }

    #[tokio::test]
    async fn an_answer_rendered_across_a_commit_is_not_kept() {
        let (stamps, cache, token, uri) = setup();
        let slow = cache.begin(&Method::GET, TASK, &uri, &token).unwrap();
        stamps.0.store(1, Ordering::SeqCst);
        let fast = cache.begin(&Method::GET, TASK, &uri, &token).unwrap();
        // `slow` may have read the data before the commit: it must not be kept under stamp 1.
        let _ = cache.keep(slow, json("old")).await;
        assert!(cache.answer(&fast).is_none());
        let _ = cache.keep(fast, json("new")).await;
        let next = cache.begin(&Method::GET, TASK, &uri, &token).unwrap();
        assert_eq!(text(cache.answer(&next).unwrap()).await, "new");
    }

    #[tokio::test]
    async fn only_small_200_answers_of_kept_reads_are_kept() {
        let (_, cache, token, uri) = setup();
        assert!(cache.begin(&Method::POST, TASK, &uri, &token).is_none());
        assert!(cache.begin(&Method::HEAD, TASK, &uri, &token).is_none());
        assert!(
            cache
                .begin(&Method::GET, Some("/v1/kling/scheduler"), &uri, &token)
                .is_none()
        );
        assert!(cache.begin(&Method::GET, None, &uri, &token).is_none());

        let p = cache.begin(&Method::GET, TASK, &uri, &token).unwrap();
        let mut not_found = json("{}");
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        let _ = cache.keep(p, not_found).await;
        let p = cache.begin(&Method::GET, TASK, &uri, &token).unwrap();
        assert!(cache.answer(&p).is_none(), "errors are not kept");

        let big = "x".repeat(MAX_ANSWER_BYTES as usize + 1);
        let sent = cache.keep(p, Response::new(Body::from(big.clone()))).await;
        assert_eq!(text(sent).await, big, "a large answer is still sent whole");
        let p = cache.begin(&Method::GET, TASK, &uri, &token).unwrap();
        assert!(cache.answer(&p).is_none(), "large answers are not kept");
    }
}
