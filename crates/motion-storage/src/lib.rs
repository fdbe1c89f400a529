//! motion-storage
