//! Callbacks: signing, the SSRF guard, the retry schedule, secrets at rest and the deliverer.

pub mod deliver;
pub mod guard;
pub mod schedule;
pub mod secrets;
pub mod sign;

pub use deliver::{Deliverer, DelivererSettings, Delivery};
pub use guard::{Blocked, SafeClient};
pub use schedule::RetryPolicy;
pub use secrets::{MasterKey, WebhookSecrets};
