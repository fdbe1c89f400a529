//! Storage conformance suite, run on SQLite in a temp file. One story per port, with the
//! concurrency cases of architecture §7.

mod blobs;
mod catalog;
mod common;
mod queue;
mod scoping;
mod services;
