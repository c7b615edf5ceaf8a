//! Every misconfigured guard and `derive(AuthUser)` is a compile error that points at the
//! mistake (`ui/*.rs`, one error each, `.stderr` checked in), and every supported shape of
//! handler compiles and runs (`pass/*.rs`).
//!
//! The `.stderr` files are made by the toolchain pinned in `rust-toolchain.toml`. After a
//! deliberate change to a message, regenerate with `TRYBUILD=overwrite cargo test -p
//! ui-tests` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/pass/derive-auth-user.rs");
    cases.pass("tests/pass/get-above-and-below.rs");
    cases.pass("tests/pass/route-and-routes.rs");
    cases.pass("tests/pass/resource-to.rs");
    cases.pass("tests/pass/generic-handler.rs");
    cases.pass("tests/pass/renamed-actix-web.rs");
    cases.pass("tests/pass/deny-warnings.rs");
    cases.pass("tests/pass/permissions.rs");
}
