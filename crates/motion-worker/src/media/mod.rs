//! Adapters from `motion-capture` to core's media ports.

pub mod extractor;
pub mod inspector;

pub use extractor::EngineExtractor;
pub use inspector::CaptureInspector;
