//! Use-case services.
