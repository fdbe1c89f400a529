//! motion-api
