//! DPoP proofs seen (RFC 9449 §11.1).

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::fixtures::{RACERS, fresh_hash, ok, start_together, whole_seconds_now};
use crate::store::Store;

/// How long a DPoP proof entry lives: the default `iat` window and skew (RFC 9449 §11.1).
const DPOP_PROOF_LIFETIME: Duration = Duration::from_secs(121);

/// A DPoP proof is recorded once (RFC 9449 §11.1): the first insert of a key returns `true`, every
/// later one `false` while the entry lives, and keys are independent of each other.
pub async fn dpop_jti_is_inserted_once<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (key, other) = (fresh_hash(), fresh_hash());
    let expires_at = now + DPOP_PROOF_LIFETIME;

    let first = ok(store.insert_dpop_jti(&key, expires_at).await, "insert_dpop_jti");
    assert!(first, "the first insert of a DPoP proof key must return true");
    let second = ok(store.insert_dpop_jti(&key, expires_at).await, "insert_dpop_jti");
    assert!(!second, "a second insert of an unexpired DPoP proof key must return false (a replay)");
    let third = ok(store.insert_dpop_jti(&key, expires_at + DPOP_PROOF_LIFETIME).await, "insert_dpop_jti");
    assert!(!third, "a replay must be refused whatever expiry it comes with");
    let independent = ok(store.insert_dpop_jti(&other, expires_at).await, "insert_dpop_jti");
    assert!(independent, "inserting one DPoP proof key must not make another one a replay");
}

/// An entry past its expiry is absent: the same key may be inserted again, and is then a replay
/// until its new expiry. Expiry is judged against the store's own clock, so the expired entry is
/// one whose `expires_at` is already in the past.
pub async fn dpop_jti_expired_entry_may_be_reinserted<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let key = fresh_hash();

    let expired = ok(store.insert_dpop_jti(&key, now - DPOP_PROOF_LIFETIME).await, "insert_dpop_jti");
    assert!(expired, "the first insert of a DPoP proof key must return true, even with a past expiry");
    let again = ok(store.insert_dpop_jti(&key, now + DPOP_PROOF_LIFETIME).await, "insert_dpop_jti");
    assert!(again, "an expired DPoP proof entry must behave as absent: inserting its key again must return true");
    let replay = ok(store.insert_dpop_jti(&key, now + DPOP_PROOF_LIFETIME).await, "insert_dpop_jti");
    assert!(!replay, "a re-inserted DPoP proof key must be a replay until its new expiry");
}

/// Fifty tasks insert one DPoP proof key at once: exactly one gets `true`. Insert-if-absent is one
/// atomic step; a store that looks and then inserts would accept one proof several times.
pub async fn dpop_jti_insert_race_has_one_winner<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let key = fresh_hash();
    let expires_at = now + DPOP_PROOF_LIFETIME;

    let ready = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let store = Arc::clone(&store);
            let ready = Arc::clone(&ready);
            tokio::spawn(async move {
                start_together(&ready).await;
                ok(store.insert_dpop_jti(&key, expires_at).await, "insert_dpop_jti")
            })
        })
        .collect();
    let mut inserted = 0;
    for task in tasks {
        if task.await.expect("a racing insert_dpop_jti task panicked") {
            inserted += 1;
        }
    }
    assert_eq!(inserted, 1, "exactly one of {RACERS} concurrent inserts of one DPoP proof key must return true");
}
