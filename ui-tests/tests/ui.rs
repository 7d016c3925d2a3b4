//! Compile-time behaviour of `#[attesto::provider]` and `attesto::attesto_routes!`: the path
//! tables they resolve (`ui/pass`) and the errors they report (`ui/fail`, one rule per file).
//! Regenerate the expected errors with `TRYBUILD=overwrite cargo test -p attesto-ui-tests --test ui`,
//! then read them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
