//! Authentication (contract §2.2) and the rate limits of §2.7.
//!
//! One middleware on the `/v1/kling` routes, after routing (so unknown paths and
//! wrong methods answer 404/405 first): it parses `Authorization: Bearer <token>`,
//! looks the SHA-256 of the token up through the core's `TokenStore`, then applies
//! the per-token bucket. A failed authentication counts against the per-IP bucket
//! and is answered 429 instead of 401 once that bucket is empty.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use motion_core::domain::User;
use motion_core::error::ErrorCode;
use motion_core::ids::TokenHash;
use motion_core::ports::{ChangeStamp, TokenStore};

use crate::error::ApiError;
use crate::response_cache::ResponseCache;
use crate::state::ApiSettings;

/// The authenticated caller, put into the request's extensions by [`authenticate`].
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Only reachable on routes behind `authenticate`; anything else is our bug.
        parts
            .extensions
            .get::<AuthUser>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))
    }
}

type KeyedLimiter<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// Everything the auth middleware needs.
pub struct AuthLayerState {
    tokens: Arc<dyn TokenStore>,
    per_token: Option<KeyedLimiter<String>>,
    per_ip: Option<KeyedLimiter<IpAddr>>,
    trust_forwarded_for: bool,
    /// Answers of hot reads, reused while nothing was committed (absent when the store
    /// cannot tell).
    responses: Option<ResponseCache>,
    /// Checks since the last sweep of idle limiter keys (bounds their memory).
    checks: AtomicU64,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(rps: u32, burst: u32) -> Option<KeyedLimiter<K>> {
    let rps = NonZeroU32::new(rps)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rps);
    Some(RateLimiter::keyed(
        Quota::per_second(rps).allow_burst(burst),
    ))
}

impl AuthLayerState {
    pub fn new(
        tokens: Arc<dyn TokenStore>,
        change_stamp: Option<Arc<dyn ChangeStamp>>,
        settings: &ApiSettings,
    ) -> Self {
        Self {
            tokens,
            responses: change_stamp.map(ResponseCache::new),
            per_token: limiter(settings.token_rps, settings.token_burst),
            per_ip: limiter(settings.unauth_ip_rps, settings.unauth_ip_burst),
            trust_forwarded_for: settings.trust_forwarded_for,
            checks: AtomicU64::new(0),
        }
    }

    fn sweep_now_and_then(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            if let Some(l) = &self.per_token {
                l.retain_recent();
            }
            if let Some(l) = &self.per_ip {
                l.retain_recent();
            }
        }
    }
}

/// Seconds until the limiter admits again: rounded up, at least 1 (contract §2.7).
fn check<K: std::hash::Hash + Eq + Clone>(limiter: &KeyedLimiter<K>, key: &K) -> Result<(), u64> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        secs.max(1)
    })
}

/// The token of `Authorization: Bearer <token>`; `None` for every 401 case of §2.2.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let value = value.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() || token.chars().any(char::is_whitespace) {
        return None;
    }
    Some(token)
}

/// The client IP: the TCP peer, or, when a proxy in front is trusted, the last `X-Forwarded-For`
/// entry: the address that proxy saw and appended. The entries before it are whatever the client
/// sent, so taking the first let one client change its address on every request and escape the
/// per-IP limit.
fn client_ip(req: &Request, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        // In-process tests have no peer; they share one loopback key.
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

fn too_many(kind: &'static str, retry_after_s: u64) -> Response {
    metrics::counter!("motiond_rate_limited_total", "kind" => kind).increment(1);
    ApiError::new(ErrorCode::TooManyRequests { retry_after_s }).into_response()
}

/// The per-token bucket: the 429 to send when the token is over its rate.
fn token_over_rate(st: &AuthLayerState, hash: &TokenHash) -> Option<Response> {
    let limiter = st.per_token.as_ref()?;
    let retry = check(limiter, &hash.as_str().to_owned()).err()?;
    Some(too_many("token", retry))
}

/// Middleware: 401 / 429 (per IP) / 429 (per token), else the request goes on with
/// [`AuthUser`] in its extensions. A hot read whose answer was kept under the store's current
/// change stamp is answered from [`ResponseCache`] after the per-token bucket: the token was
/// live when the answer was rendered and nothing (a revocation included) was committed since.
pub async fn authenticate(
    State(st): State<Arc<AuthLayerState>>,
    mut req: Request,
    next: Next,
) -> Response {
    st.sweep_now_and_then();
    let hash = bearer_token(req.headers()).map(TokenHash::of_token);
    let pending = match (&st.responses, &hash) {
        (Some(cache), Some(h)) => {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str);
            cache.begin(req.method(), route, req.uri(), h)
        }
        _ => None,
    };
    if let (Some(cache), Some(p), Some(h)) = (&st.responses, &pending, &hash)
        && let Some(kept) = cache.answer(p)
    {
        return token_over_rate(&st, h).unwrap_or(kept);
    }
    let user = match hash.as_ref() {
        Some(h) => match st.tokens.user_by_token(h).await {
            Ok(user) => user,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => None,
    };
    let (Some(user), Some(hash)) = (user, hash) else {
        let ip = client_ip(&req, st.trust_forwarded_for);
        if let Some(Err(retry)) = st.per_ip.as_ref().map(|l| check(l, &ip)) {
            return too_many("ip", retry);
        }
        return ApiError::new(ErrorCode::Unauthorized).into_response();
    };
    if let Some(too_many) = token_over_rate(&st, &hash) {
        return too_many;
    }
    req.extensions_mut().insert(AuthUser(user));
    let res = next.run(req).await;
    match (&st.responses, pending) {
        (Some(cache), Some(p)) => cache.keep(p, res).await,
        _ => res,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_parsing_follows_the_contract() {
        assert_eq!(bearer_token(&headers(&["Bearer abc"])), Some("abc"));
        assert_eq!(bearer_token(&headers(&["bEaReR    abc"])), Some("abc"));
        assert_eq!(bearer_token(&headers(&[])), None);
        assert_eq!(bearer_token(&headers(&["Bearer abc", "Bearer abc"])), None);
        assert_eq!(bearer_token(&headers(&["Basic abc"])), None);
        assert_eq!(bearer_token(&headers(&["Bearer "])), None);
        assert_eq!(bearer_token(&headers(&["Bearer"])), None);
        assert_eq!(bearer_token(&headers(&["Bearer a b"])), None);
        assert_eq!(bearer_token(&headers(&["Bearer a\tb"])), None);
        assert_eq!(bearer_token(&headers(&["Bearerabc"])), None);
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        let l: KeyedLimiter<u8> = limiter(1, 1).unwrap();
        assert_eq!(check(&l, &1), Ok(()));
        assert_eq!(check(&l, &1), Err(1));
        assert_eq!(check(&l, &2), Ok(()), "keys are independent");
        assert!(limiter::<u8>(0, 100).is_none(), "0 rps disables");
    }
}
