//! `#[attesto::provider]` goes on a struct or an enum.

#[attesto::provider]
fn auth() {}

fn main() {}
