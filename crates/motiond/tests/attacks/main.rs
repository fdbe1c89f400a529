//! Attack suites against the real `motiond` binary (issue "Safe to expose", items 2, 3, 6):
//! SSRF through callback URLs, webhook delivery under failures and crashes, and crash trials
//! of `serve` during extraction. Port 0, temp data dirs, real ffmpeg and models.

// The e2e harness (spawn `serve`, admin commands, a JSON client), included as is; this
// binary uses only part of it.
#[allow(dead_code)]
#[path = "../e2e/harness.rs"]
mod harness;

mod crashes;
mod ssrf;
mod support;
mod webhooks;
