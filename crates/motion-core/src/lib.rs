//! motion-core
