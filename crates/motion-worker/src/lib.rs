//! motion-worker
