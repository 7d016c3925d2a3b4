//! Nothing here: this crate exists for its `tests/ui.rs`, the trybuild cases of
//! `#[attesto::provider]` and `attesto::attesto_routes!`, which it runs with attesto as its only
//! dependency (see `Cargo.toml`).
