//! Runnable apps built with login-runtime. [`demo`] is the main one: a small real site (see
//! its docs) that `cargo run -p examples --bin demo` serves and `tests/demo.rs` drives.

pub mod demo;

pub use demo::{Config, Demo, Keys};
