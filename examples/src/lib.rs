//! Runnable apps built with login-runtime. [`demo`] is the main one: a small real site (see
//! its docs) that `cargo run -p examples --bin demo` serves and `tests/demo.rs` drives.
//! [`shop`] shows customers and staff, two kinds of user, in one app (`--bin shop`).

pub mod demo;
pub mod shop;

pub use demo::{Config, Demo, Keys};
