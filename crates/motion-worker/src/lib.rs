//! motion-worker: everything that runs in the background of motiond.
//!
//! - [`worker`]: the claim loop with its slot semaphore, the heartbeat, cancellation and the
//!   extraction job (results under attempt-scoped keys, token-guarded finish).
//! - [`janitor`]: the reaper (expired leases), temp-dir sweeping and blob trash.
//! - [`media`]: the adapters from `motion-capture` to core's ports (`MediaInspector`,
//!   `MotionExtractor`).
//! - [`webhook`]: the outbox deliverer with the SSRF-safe client, signatures and secrets.

pub mod janitor;
pub mod media;
pub mod webhook;
pub mod worker;
