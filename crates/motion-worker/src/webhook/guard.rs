//! The SSRF guard: the only way motiond makes outbound HTTP requests (contract §8.5).
//!
//! - Literal-IP hosts are classified before connecting (hyper never asks the resolver for
//!   them), and so are `localhost` names.
//! - Names go through [`GuardedResolver`], reqwest's resolver: it resolves once, refuses the
//!   whole name if any address is refused, and hands reqwest only the checked addresses, so a
//!   DNS answer that changes between check and connect cannot slip through.
//! - No redirects (a 3xx is a failed attempt), no proxies from the environment, one total
//!   timeout per attempt, and at most 64 KiB of the response body is read.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use motion_core::address::{HostCheck, RefusedHost, check_host, classify_ip};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Most bytes of a receiver's response body we read before discarding it.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// The guard refused a target.
#[derive(Debug, Clone, thiserror::Error)]
#[error("address guard refused {host}: {reason}")]
pub struct Blocked {
    pub host: String,
    pub reason: String,
}

/// A DNS lookup; the system resolver in production, scripted answers in tests.
#[async_trait]
pub trait Lookup: Send + Sync {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// `getaddrinfo` through tokio.
#[derive(Debug, Default)]
pub struct SystemLookup;

#[async_trait]
impl Lookup for SystemLookup {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

/// reqwest's resolver: resolve once, refuse the name if any address is refused.
#[derive(Clone)]
pub struct GuardedResolver {
    allow_private: bool,
    lookup: Arc<dyn Lookup>,
}

impl GuardedResolver {
    pub fn new(allow_private: bool, lookup: Arc<dyn Lookup>) -> Self {
        Self {
            allow_private,
            lookup,
        }
    }

    /// The checked addresses of `host`, or why it is refused.
    pub async fn resolve_checked(&self, host: &str) -> Result<Vec<IpAddr>, ResolveFailure> {
        if let HostCheck::Refused(why) = check_host(host, self.allow_private) {
            return Err(ResolveFailure::Blocked(Blocked {
                host: host.to_string(),
                reason: refused_text(&why),
            }));
        }
        let addrs = self
            .lookup
            .lookup(host)
            .await
            .map_err(ResolveFailure::Lookup)?;
        if addrs.is_empty() {
            return Err(ResolveFailure::Lookup(std::io::Error::other(
                "no addresses",
            )));
        }
        if let Some(bad) = addrs
            .iter()
            .find(|ip| !classify_ip(**ip).is_allowed(self.allow_private))
        {
            return Err(ResolveFailure::Blocked(Blocked {
                host: host.to_string(),
                reason: format!("resolves to {bad} ({:?})", classify_ip(*bad)),
            }));
        }
        Ok(addrs)
    }
}

/// Why a name did not resolve to usable addresses.
#[derive(Debug, thiserror::Error)]
pub enum ResolveFailure {
    #[error(transparent)]
    Blocked(Blocked),
    #[error("lookup failed: {0}")]
    Lookup(std::io::Error),
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let ips = this.resolve_checked(name.as_str()).await.map_err(
                |e| -> Box<dyn std::error::Error + Send + Sync> {
                    match e {
                        ResolveFailure::Blocked(b) => Box::new(b),
                        ResolveFailure::Lookup(io) => Box::new(io),
                    }
                },
            )?;
            // Port 0: reqwest replaces it with the URL's port.
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

fn refused_text(why: &RefusedHost) -> String {
    match why {
        RefusedHost::Address(ip, class) => format!("{ip} is {class:?}"),
        RefusedHost::LocalhostName => "localhost names are refused".into(),
        RefusedHost::Malformed => "malformed host".into(),
    }
}

/// What one POST attempt ended with.
#[derive(Debug)]
pub enum AttemptResult {
    /// The receiver answered with this status, and with `Retry-After` seconds when the
    /// status is 429 or 503: only those may move the schedule (contract §8.3).
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Refused by the guard; never retried.
    Blocked(Blocked),
    /// Timeout, connection error, TLS failure …: retried.
    Failed(String),
}

/// The SSRF-safe HTTP client.
#[derive(Clone)]
pub struct SafeClient {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

impl SafeClient {
    pub fn new(
        allow_private: bool,
        timeout: Duration,
        user_agent: &str,
    ) -> Result<Self, reqwest::Error> {
        Self::with_lookup(allow_private, timeout, user_agent, Arc::new(SystemLookup))
    }

    /// A client whose name lookups are answered by `lookup` (tests script DNS answers).
    pub fn with_lookup(
        allow_private: bool,
        timeout: Duration,
        user_agent: &str,
        lookup: Arc<dyn Lookup>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(allow_private, lookup)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(user_agent)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(0)
            .build()?;
        Ok(Self {
            client,
            allow_private,
            timeout,
        })
    }

    /// Checks a target URL before any connection: http(s), no user info, and a host that is
    /// not a refused literal or a localhost name.
    pub fn check_url(&self, raw: &str) -> Result<Url, Blocked> {
        let blocked = |reason: &str| Blocked {
            host: String::new(),
            reason: reason.to_string(),
        };
        let url = Url::parse(raw).map_err(|_| blocked("not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(blocked("scheme is not http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(blocked("URL carries user info"));
        }
        let host = url.host_str().ok_or_else(|| blocked("no host"))?;
        match check_host(host, self.allow_private) {
            HostCheck::Refused(why) => Err(Blocked {
                host: host.to_string(),
                reason: refused_text(&why),
            }),
            HostCheck::AllowedIp(_) | HostCheck::Name(_) => Ok(url),
        }
    }

    /// POSTs `body` with `headers`, all within the attempt timeout (connect, TLS, request,
    /// response headers); then reads at most 64 KiB of the body, within what is left.
    pub async fn post(
        &self,
        raw_url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> AttemptResult {
        let url = match self.check_url(raw_url) {
            Ok(u) => u,
            Err(b) => return AttemptResult::Blocked(b),
        };
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let started = tokio::time::Instant::now();
        let response = match tokio::time::timeout(self.timeout, request.send()).await {
            Err(_) => return AttemptResult::Failed(format!("timed out after {:?}", self.timeout)),
            Ok(Err(e)) => return classify_send_error(e),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .filter(|_| matches!(status, 429 | 503))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let left = self.timeout.saturating_sub(started.elapsed());
        let _ = tokio::time::timeout(left, drain_bounded(response)).await;
        AttemptResult::Status {
            status,
            retry_after,
        }
    }
}

/// Reads and discards at most [`MAX_RESPONSE_BODY`] bytes.
async fn drain_bounded(response: reqwest::Response) {
    let mut seen = 0usize;
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen >= MAX_RESPONSE_BODY {
            break;
        }
    }
}

/// A send error caused by the guard is `Blocked` (never retried); anything else is a failure.
/// What went wrong, without the URL: receivers often carry a shared secret in its query, and
/// this text reaches the log and the outbox row.
fn classify_send_error(e: reqwest::Error) -> AttemptResult {
    let e = e.without_url();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(b) = err.downcast_ref::<Blocked>() {
            return AttemptResult::Blocked(b.clone());
        }
        source = err.source();
    }
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    AttemptResult::Failed(format!("{kind}: {}", error_chain(&e)))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A loopback listener that answers every request with `status` and counts connections.
    async fn canary(status: u16, extra: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                h.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    let _ = sock.read(&mut buf).await;
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\n{extra}connection: close\r\n\r\n"
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        (addr, hits)
    }

    struct Scripted(Mutex<HashMap<String, Vec<IpAddr>>>);

    #[async_trait]
    impl Lookup for Scripted {
        async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
            self.0
                .lock()
                .unwrap()
                .get(host)
                .cloned()
                .ok_or_else(|| std::io::Error::other("NXDOMAIN"))
        }
    }

    fn scripted(pairs: &[(&str, &[&str])]) -> Arc<Scripted> {
        let map = pairs
            .iter()
            .map(|(h, ips)| {
                (
                    h.to_string(),
                    ips.iter().map(|i| i.parse().unwrap()).collect(),
                )
            })
            .collect();
        Arc::new(Scripted(Mutex::new(map)))
    }

    fn client(allow_private: bool, lookup: Arc<dyn Lookup>) -> SafeClient {
        SafeClient::with_lookup(
            allow_private,
            Duration::from_secs(5),
            "motiond-test",
            lookup,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn loopback_targets_never_reached_by_default() {
        let (addr, hits) = canary(200, "").await;
        let port = addr.port();
        let dns = scripted(&[
            ("rebind.test", &["127.0.0.1"]),
            ("mixed.test", &["8.8.8.8", "127.0.0.1"]),
        ]);
        let c = client(false, dns);
        let urls = [
            format!("http://127.0.0.1:{port}/"),
            format!("http://[::1]:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            format!("http://2130706433:{port}/"),
            format!("http://0x7f000001:{port}/"),
            format!("http://0177.0.0.1:{port}/"),
            format!("http://127.1:{port}/"),
            format!("http://0.0.0.0:{port}/"),
            format!("http://localhost:{port}/"),
            format!("http://a.localhost:{port}/"),
            format!("http://rebind.test:{port}/"),
            format!("http://mixed.test:{port}/"),
            format!("http://user:pw@8.8.8.8:{port}/"),
            format!("ftp://127.0.0.1:{port}/"),
            format!("http://169.254.169.254:{port}/"),
        ];
        for url in &urls {
            let r = c.post(url, &[], b"{}".to_vec()).await;
            assert!(matches!(r, AttemptResult::Blocked(_)), "{url}: {r:?}");
        }
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "the canary must never be reached"
        );
    }

    #[tokio::test]
    async fn allow_private_reaches_loopback_by_ip_and_name() {
        let (addr, hits) = canary(204, "").await;
        let dns = scripted(&[("receiver.test", &["127.0.0.1"])]);
        let c = client(true, dns);
        let r = c
            .post(
                &format!("http://{addr}/hook"),
                &[("webhook-id", "msg_1_10".into())],
                b"{}".to_vec(),
            )
            .await;
        assert!(
            matches!(r, AttemptResult::Status { status: 204, .. }),
            "{r:?}"
        );
        let r = c
            .post(
                &format!("http://receiver.test:{}/hook", addr.port()),
                &[],
                b"{}".to_vec(),
            )
            .await;
        assert!(
            matches!(r, AttemptResult::Status { status: 204, .. }),
            "{r:?}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        // Unspecified and multicast stay refused even with the flag.
        let r = c
            .post(&format!("http://0.0.0.0:{}/", addr.port()), &[], vec![])
            .await;
        assert!(matches!(r, AttemptResult::Blocked(_)));
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let (addr, hits) = canary(302, "location: http://8.8.8.8/\r\nretry-after: 7\r\n").await;
        let c = client(true, scripted(&[]));
        match c.post(&format!("http://{addr}/"), &[], vec![]).await {
            AttemptResult::Status {
                status,
                retry_after,
            } => {
                assert_eq!(status, 302);
                assert_eq!(retry_after, None, "only a 429 or 503 may move the schedule");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    /// §8.3: "A Retry-After on a 429 or 503 response pushes the next attempt later"; on
    /// any other status it is ignored.
    #[tokio::test]
    async fn retry_after_is_read_on_429_and_503_only() {
        let c = client(true, scripted(&[]));
        for (status, want) in [
            (429, Some(Duration::from_secs(7))),
            (503, Some(Duration::from_secs(7))),
            (500, None),
            (502, None),
            (404, None),
            (302, None),
            (200, None),
        ] {
            let (addr, _) = canary(status, "retry-after: 7\r\n").await;
            match c.post(&format!("http://{addr}/"), &[], vec![]).await {
                AttemptResult::Status {
                    status: got,
                    retry_after,
                } => {
                    assert_eq!(got, status);
                    assert_eq!(retry_after, want, "{status}");
                }
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn unknown_name_and_closed_port_are_retryable_failures() {
        let c = client(true, scripted(&[]));
        assert!(matches!(
            c.post("http://nowhere.test/", &[], vec![]).await,
            AttemptResult::Failed(_)
        ));
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let url = format!("http://127.0.0.1:{port}/hook?sig=SECRET123");
        let AttemptResult::Failed(why) = c.post(&url, &[], vec![]).await else {
            panic!("a closed port is a failed attempt");
        };
        // The text is logged and stored: the URL's query may hold the receiver's secret.
        assert!(why.starts_with("connection failed"), "{why}");
        assert!(
            !why.contains("SECRET123") && !why.contains("/hook"),
            "{why}"
        );
    }

    #[tokio::test]
    async fn slow_receiver_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (_sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let c =
            SafeClient::with_lookup(true, Duration::from_millis(300), "t", scripted(&[])).unwrap();
        let started = std::time::Instant::now();
        let r = c.post(&format!("http://{addr}/"), &[], vec![]).await;
        assert!(matches!(r, AttemptResult::Failed(_)), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
