//! The in-memory store against the store contract suite that every `Store` must pass.

attesto::store_contract_tests!(memory, attesto::MemoryStore::new());

/// The whole suite in one test, the way a store without one test per case runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_run_all() {
    attesto::store_contract::run_all(attesto::MemoryStore::new).await;
}
