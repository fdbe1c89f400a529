//! motion-core: the framework-free heart of motiond.
//!
//! - domain types ([`domain`]), the task state machine ([`domain::WireStatus`]), failure
//!   reasons ([`reason`]), ids ([`ids`]), the clock ([`clock`]) and blob keys ([`blob_keys`]);
//! - the ports ([`ports`]): role traits implemented by storage, media and worker adapters;
//! - the use-case services ([`services`]) that handlers and workers call;
//! - the error table ([`error`]), wire shapes ([`wire`]), parameter parsing ([`params`]) and
//!   the address classifier ([`address`]).

pub mod address;
pub mod blob_keys;
pub mod clock;
pub mod domain;
pub mod error;
pub mod ids;
pub mod params;
pub mod ports;
pub mod reason;
pub mod services;
pub mod signals;
pub mod wire;
