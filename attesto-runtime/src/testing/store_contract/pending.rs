//! Pending authorization requests: the login and consent stages, and pushed requests (RFC 9126).

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::fixtures::{
    RACERS, SECOND, fresh_hash, full_request, minimal_request, ok, pending, principal, start_together,
    whole_seconds_now,
};
use crate::store::{PendingAuthorization, PendingStage, Store};

const PUSHED_LIFETIME: Duration = Duration::from_secs(60);

/// A pending request comes back exactly as it was put, and only once: its handle is a one-time
/// capability held by one browser.
pub async fn pending_is_taken_once<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let handle = fresh_hash();
    let pending = pending(full_request(now), PendingStage::Login, now);
    ok(store.put_pending(&handle, &pending).await, "put_pending");

    let taken = ok(store.take_pending(&handle, now).await, "take_pending");
    assert_eq!(taken.as_ref(), Some(&pending), "take_pending must return the pending request exactly as it was put");
    let again = ok(store.take_pending(&handle, now).await, "take_pending");
    assert_eq!(again, None, "a pending request must be taken at most once; the second take found it again");
}

/// A pending request is judged against the `now` passed in: present before its `expires_at`,
/// absent after it.
pub async fn pending_expires<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (early, late) = (fresh_hash(), fresh_hash());
    let pending = pending(full_request(now), PendingStage::Login, now);
    ok(store.put_pending(&early, &pending).await, "put_pending");
    ok(store.put_pending(&late, &pending).await, "put_pending");

    let before = ok(store.take_pending(&early, pending.expires_at - SECOND).await, "take_pending");
    assert_eq!(before.as_ref(), Some(&pending), "a pending request must be taken one second before its expiry");
    let after = ok(store.take_pending(&late, pending.expires_at + SECOND).await, "take_pending");
    assert_eq!(after, None, "a pending request past its expires_at must behave as absent");
}

/// A handle that was never put finds nothing, even in a store that holds other requests.
pub async fn pending_unknown_handle_is_none<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let handle = fresh_hash();
    let pending = pending(full_request(now), PendingStage::Login, now);
    ok(store.put_pending(&handle, &pending).await, "put_pending");

    let unknown = ok(store.take_pending(&fresh_hash(), now).await, "take_pending");
    assert_eq!(unknown, None, "take_pending of a handle never put must return None");
    let taken = ok(store.take_pending(&handle, now).await, "take_pending");
    assert_eq!(taken.as_ref(), Some(&pending), "taking an unknown handle must not disturb another one");
}

/// Two handles hold two requests: putting one does not overwrite the other, and taking one does
/// not take the other. One request has every optional field set, the other none, so both
/// round-trip.
pub async fn pending_handles_are_independent<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (first, second) = (fresh_hash(), fresh_hash());
    let full = pending(full_request(now), PendingStage::Login, now);
    let minimal = pending(minimal_request(now), PendingStage::Login, now);
    ok(store.put_pending(&first, &full).await, "put_pending");
    ok(store.put_pending(&second, &minimal).await, "put_pending");

    let taken = ok(store.take_pending(&second, now).await, "take_pending");
    assert_eq!(taken.as_ref(), Some(&minimal), "the second handle must return its own request (all options unset)");
    let taken = ok(store.take_pending(&first, now).await, "take_pending");
    assert_eq!(taken.as_ref(), Some(&full), "taking the second handle must leave the first one's request intact");
}

/// The `Consent` stage keeps who is deciding (with `acr` and `amr`) and the browser binding.
pub async fn pending_consent_stage_round_trips<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let handle = fresh_hash();
    let browser = fresh_hash();
    let stage = PendingStage::Consent { principal: principal(now), browser };
    let pending = pending(full_request(now), stage, now);
    ok(store.put_pending(&handle, &pending).await, "put_pending");

    let taken = ok(store.take_pending(&handle, now).await, "take_pending");
    let Some(taken) = taken else { panic!("a pending request in the consent stage must be taken after put") };
    assert_eq!(taken.stage, pending.stage, "the consent stage (principal and browser hash) must round-trip intact");
    assert_eq!(taken, pending, "a pending request in the consent stage must round-trip intact");
}

/// The `Pushed` stage (RFC 9126): a request pushed by its client round-trips intact, is taken
/// once (RFC 9126 §4: a `request_uri` is used once), and is gone after its short lifetime.
pub async fn pending_pushed_stage_round_trips<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (handle, late) = (fresh_hash(), fresh_hash());
    let pushed = PendingAuthorization {
        request: minimal_request(now),
        stage: PendingStage::Pushed,
        expires_at: now + PUSHED_LIFETIME,
    };
    ok(store.put_pending(&handle, &pushed).await, "put_pending");
    ok(store.put_pending(&late, &pushed).await, "put_pending");

    let taken = ok(store.take_pending(&handle, now).await, "take_pending");
    assert_eq!(taken.as_ref(), Some(&pushed), "a pushed request must round-trip intact");
    let again = ok(store.take_pending(&handle, now).await, "take_pending");
    assert_eq!(again, None, "a pushed request must be taken at most once; the second take found it again");
    let expired = ok(store.take_pending(&late, pushed.expires_at + SECOND).await, "take_pending");
    assert_eq!(expired, None, "a pushed request past its expires_at must behave as absent");
}

/// Fifty tasks take one pending request at once: exactly one gets it. Taking is one atomic step;
/// a store that reads and then deletes would let a pushed request (or a consent decision) be used
/// twice.
pub async fn pending_take_race_has_one_winner<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let handle = fresh_hash();
    let pushed = PendingAuthorization {
        request: full_request(now),
        stage: PendingStage::Pushed,
        expires_at: now + PUSHED_LIFETIME,
    };
    ok(store.put_pending(&handle, &pushed).await, "put_pending");

    let ready = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let store = Arc::clone(&store);
            let ready = Arc::clone(&ready);
            tokio::spawn(async move {
                start_together(&ready).await;
                ok(store.take_pending(&handle, now).await, "take_pending")
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(taken) = task.await.expect("a racing take_pending task panicked") {
            winners.push(taken);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of {RACERS} concurrent takes must get the pending request");
    assert_eq!(winners[0], pushed, "the winner must get the pending request as put");
}
