//! `#[attesto::provider]` needs a concrete type; `attesto_routes!` declares one instance.

#[derive(Clone)]
#[attesto::provider]
struct Auth<Db>(Db);

fn main() {}
