//! Adapters from `motion-capture` to core's media ports.

pub mod inspector;

pub use inspector::CaptureInspector;
