//! `attesto_routes!` needs at least the provider type.

attesto::attesto_routes! {}

fn main() {}
