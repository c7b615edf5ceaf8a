//! login-account's flows, driven as a browser and as a JSON client would, through
//! `actix_web::test`, on users in memory (`flows/support.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "flows/support.rs"]
#[allow(dead_code)] // each test module uses part of it
mod support;

#[path = "flows/reset.rs"]
mod reset;

#[path = "flows/verify.rs"]
mod verify;

#[path = "flows/email.rs"]
mod email;

#[path = "flows/sign_in.rs"]
mod sign_in;

#[path = "flows/events.rs"]
mod events;
