//! Request ids, the request span, and the HTTP metrics of contract §10.3.
//!
//! `X-Request-Id` is echoed when it matches `[A-Za-z0-9._-]{1,64}`, otherwise a
//! fresh one is generated; the id is on the response and in the span of every
//! log line of the request. Metric labels carry the route template, never the
//! raw path (a `/files` path holds a capability).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

pub const REQUEST_ID: &str = "x-request-id";

/// The request id of the current request (in the request's extensions).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn valid_client_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Middleware: request id, request span, access log, HTTP metrics.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_client_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let started = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    span.in_scope(|| tracing::info!(status, elapsed_ms = elapsed.as_millis() as u64, "request"));
    metrics::counter!("motiond_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("motiond_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
/// Later calls (several apps in one test process) return the same handle.
pub fn prometheus_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed by the embedding program;
            // then this handle renders only what reaches it, which is still valid output.
            let _ = metrics::set_global_recorder(recorder);
            describe_metrics();
            handle
        })
        .clone()
}

/// Registers the contract's metric set so that `/metrics` lists every name from
/// the first scrape (zero-valued until used).
fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "motiond_http_requests_total",
        "HTTP requests by method, route template and status"
    );
    describe_histogram!(
        "motiond_http_request_duration_seconds",
        "HTTP request duration"
    );
    describe_counter!("motiond_tasks_total", "task status transitions");
    describe_gauge!("motiond_tasks_queued", "tasks in wire status 5");
    describe_gauge!("motiond_tasks_processing", "tasks in wire status 10");
    describe_histogram!("motiond_task_duration_seconds", "claim to final");
    describe_counter!(
        "motiond_task_rescues_total",
        "leases lost and tasks re-queued"
    );
    describe_counter!("motiond_admission_rejections_total", "maxJobs 429 answers");
    describe_counter!("motiond_rate_limited_total", "rate-limit 429 answers");
    describe_counter!("motiond_uploads_total", "uploads by kind and outcome");
    describe_counter!(
        "motiond_upload_bytes_total",
        "bytes received by POST /assets"
    );
    describe_histogram!(
        "motiond_subprocess_duration_seconds",
        "ffmpeg and ffprobe run time"
    );
    describe_histogram!(
        "motiond_inference_seconds_per_frame",
        "pose inference time per frame"
    );
    describe_counter!(
        "motiond_webhook_attempts_total",
        "webhook delivery attempts by outcome"
    );
    describe_gauge!(
        "motiond_webhook_outbox_pending",
        "webhook events still to deliver"
    );
    // Touch the ones the API owns so they appear in the first scrape.
    metrics::counter!("motiond_admission_rejections_total").absolute(0);
    for kind in ["token", "ip"] {
        metrics::counter!("motiond_rate_limited_total", "kind" => kind).absolute(0);
    }
    metrics::counter!("motiond_upload_bytes_total").absolute(0);
}

#[cfg(test)]
mod tests {
    use super::valid_client_id;

    #[test]
    fn client_ids_follow_the_pattern() {
        assert!(valid_client_id("abc-1.2_3"));
        assert!(valid_client_id(&"a".repeat(64)));
        assert!(!valid_client_id(&"a".repeat(65)));
        assert!(!valid_client_id(""));
        assert!(!valid_client_id("a b"));
        assert!(!valid_client_id("a/b"));
    }
}
