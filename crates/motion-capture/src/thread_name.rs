//! Names for the engine's busy threads, so that `top -H`, a profiler and the engine benchmark's
//! CPU budget (`benchmarks/engine/bench.py`) can tell the tracker, ONNX Runtime's workers and
//! the preview painter apart. The tracker and the painter run on tokio's blocking pool, whose
//! threads are reused for other work: the previous name comes back when the guard is dropped.

use std::ffi::CStr;

/// The tracking loop (frame crops, both models' main threads, the filters).
pub(crate) const TRACKER: &CStr = c"mc-track";
/// ONNX Runtime's intra-op workers: created with a session, they take the name of the thread
/// that loads it. The tracker thread loads the sessions under this name, then takes its own
/// (the engine benchmark counts the loading apart).
pub(crate) const MODEL_WORKERS: &CStr = c"mc-ort";
/// The preview painter (scale, skeleton, yuv420p).
pub(crate) const PREVIEW: &CStr = c"mc-preview";

/// Names the calling thread until dropped (Linux; elsewhere it does nothing).
pub(crate) struct ThreadName {
    #[cfg(target_os = "linux")]
    previous: Option<std::ffi::CString>,
}

impl ThreadName {
    pub(crate) fn set(name: &CStr) -> ThreadName {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::prctl;
            // A thread name is a diagnostic: failing to read or set it changes nothing else.
            let previous = prctl::get_name().ok();
            let _ = prctl::set_name(name);
            ThreadName { previous }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            ThreadName {}
        }
    }
}

impl Drop for ThreadName {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(previous) = &self.previous {
            let _ = nix::sys::prctl::set_name(previous);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_name_holds_while_the_guard_lives_and_is_restored_after() {
        std::thread::Builder::new()
            .name("original".into())
            .spawn(|| {
                let current = || nix::sys::prctl::get_name().unwrap();
                {
                    let _named = ThreadName::set(TRACKER);
                    assert_eq!(current().as_c_str(), TRACKER);
                    {
                        let _inner = ThreadName::set(PREVIEW);
                        assert_eq!(current().as_c_str(), PREVIEW);
                    }
                    assert_eq!(current().as_c_str(), TRACKER);
                }
                assert_eq!(current().as_c_str(), c"original");
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
