//! The `pass/` cases, as modules of one test crate: compiled once (trybuild would build and
//! link one binary per case), their `main`s run under plain `cargo test`, and
//! `cargo clippy -p ui-tests --all-targets -- -D warnings` lints what the macros generate in
//! them with `clippy::pedantic` on. A lint firing on generated code would fail
//! that clippy run: nothing may leak from the expansions into a strict user crate.
#![warn(clippy::pedantic)]

#[path = "pass/deny-warnings.rs"]
pub mod deny_warnings;
#[path = "pass/derive-auth-user.rs"]
pub mod derive_auth_user;
#[path = "pass/every-shape.rs"]
pub mod every_shape;
#[path = "pass/generic-handler.rs"]
pub mod generic_handler;
#[path = "pass/get-above-and-below.rs"]
pub mod get_above_and_below;
#[path = "pass/permissions.rs"]
pub mod permissions;
#[path = "pass/realms.rs"]
pub mod realms;
#[path = "pass/renamed-actix-web.rs"]
pub mod renamed_actix_web;
#[path = "pass/resource-to.rs"]
pub mod resource_to;
#[path = "pass/route-and-routes.rs"]
pub mod route_and_routes;
#[path = "pass/second-factor.rs"]
pub mod second_factor;

#[test]
fn pass_cases_run() {
    derive_auth_user::main();
    deny_warnings::main();
    every_shape::main();
    generic_handler::main();
    get_above_and_below::main();
    permissions::main();
    realms::main();
    renamed_actix_web::main();
    resource_to::main();
    route_and_routes::main();
    second_factor::main();
}
