#![allow(clippy::unwrap_used)]
//! Every misconfigured guard and `derive(AuthUser)` is a compile error that points at the
//! mistake (`ui/*.rs`, one error each, `.stderr` checked in; the cases that depend on how a
//! guard is stacked with a route attribute come in every shape, see `README.md`).
//!
//! The `pass/` cases compile and run as modules of one crate (`tests/pass_cases.rs`), not
//! here: with no pass case, trybuild only `cargo check`s, one crate per case, and never
//! builds and links a binary per case.
//!
//! The `.stderr` files are made by the toolchain pinned in `rust-toolchain.toml`. After a
//! deliberate change to a message, regenerate with `TRYBUILD=overwrite cargo test -p
//! ui-tests` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}

/// What the issue asked of every `.stderr`: exactly one error, and neither rustc's
/// `trivial_bounds` note nor a name the macros generate.
#[test]
fn every_stderr_holds_one_error_and_no_internal_name() {
    let mut checked = 0;
    for entry in std::fs::read_dir("tests/ui").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "stderr") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let errors = text
            .lines()
            .filter(|line| line.starts_with("error"))
            .count();
        assert_eq!(errors, 1, "{}:\n{text}", path.display());
        for internal in ["#48214", "__login", "__private", "__Login"] {
            assert!(
                !text.contains(internal),
                "{} mentions {internal}:\n{text}",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked > 60, "only {checked} .stderr files");
}
