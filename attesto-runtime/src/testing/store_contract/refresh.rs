//! Refresh token families: rotation, reuse detection, revocation and expiry.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::fixtures::{
    RACERS, SECOND, create_family, fresh_hash, ok, refresh_family, start_together, whole_seconds_now,
};
use crate::store::{RefreshLookup, Rotation, Store};

/// A new family's token is its current token, and the family comes back as created.
pub async fn refresh_family_is_found<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (family, token) = create_family(&*store, now).await;
    let found = ok(store.find_refresh(&token, now).await, "find_refresh");
    assert_eq!(
        found,
        RefreshLookup::Current(family),
        "a new family's token must be Current, with the family as created"
    );
}

/// Rotation replaces the current token: the presented one is rotated out, the next one is current,
/// and so on down the chain (RFC 9700 §4.14.2).
pub async fn refresh_rotation_replaces_current<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (family, t1) = create_family(&*store, now).await;
    let (t2, t3) = (fresh_hash(), fresh_hash());

    let rotated = ok(store.rotate_refresh(&t1, &t2, now).await, "rotate_refresh");
    assert_eq!(rotated, Rotation::Rotated(family.clone()), "rotating the current token must succeed");
    let found = ok(store.find_refresh(&t1, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::RotatedOut(family.clone()), "the presented token must be rotated out");
    let found = ok(store.find_refresh(&t2, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Current(family.clone()), "the next token must be current");

    let rotated = ok(store.rotate_refresh(&t2, &t3, now).await, "rotate_refresh");
    assert_eq!(rotated, Rotation::Rotated(family.clone()), "the new current token must rotate in turn");
    for (name, token) in [("t1", t1), ("t2", t2)] {
        let found = ok(store.find_refresh(&token, now).await, "find_refresh");
        assert_eq!(found, RefreshLookup::RotatedOut(family.clone()), "{name} must be rotated out after two rotations");
    }
    let found = ok(store.find_refresh(&t3, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Current(family), "the last next token must be current");
}

/// Presenting a rotated-out token is reuse (RFC 9700 §4.14.2): the store reports `Reused` once and
/// revokes the whole family, so the current token is refused too, and the family id cannot be
/// created again. Reuse is reported once: afterwards the family is revoked and every token of it
/// is `Unknown`, the rotated-out one included.
pub async fn refresh_reuse_revokes_family<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (family, t1) = create_family(&*store, now).await;
    let t2 = fresh_hash();
    let rotated = ok(store.rotate_refresh(&t1, &t2, now).await, "rotate_refresh");
    assert_eq!(rotated, Rotation::Rotated(family.clone()), "rotating the current token must succeed");

    let reused = ok(store.rotate_refresh(&t1, &fresh_hash(), now).await, "rotate_refresh");
    assert_eq!(reused, Rotation::Reused(family.clone()), "presenting a rotated-out token must be reported as Reused");

    let found = ok(store.find_refresh(&t2, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Unknown, "after reuse the family is revoked: its current token must be Unknown");
    let rotated = ok(store.rotate_refresh(&t2, &fresh_hash(), now).await, "rotate_refresh");
    assert_eq!(rotated, Rotation::Unknown, "after reuse the family's current token must not rotate");
    let found = ok(store.find_refresh(&t1, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Unknown, "after reuse the rotated-out token must be Unknown");
    let again = ok(store.rotate_refresh(&t1, &fresh_hash(), now).await, "rotate_refresh");
    assert_eq!(again, Rotation::Unknown, "reuse is reported once; the family is revoked afterwards");

    let recreated = ok(store.create_refresh_family(&family, &fresh_hash()).await, "create_refresh_family");
    assert!(!recreated, "a family revoked for reuse must not be created again under the same id");
}

/// Every token a family ever had stays recognised as rotated out, not only the previous one: an
/// attacker may replay a token several rotations old.
pub async fn refresh_reuse_of_any_old_token_is_detected<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (family, t1) = create_family(&*store, now).await;
    let (t2, t3) = (fresh_hash(), fresh_hash());
    ok(store.rotate_refresh(&t1, &t2, now).await, "rotate_refresh");
    ok(store.rotate_refresh(&t2, &t3, now).await, "rotate_refresh");

    let reused = ok(store.rotate_refresh(&t1, &fresh_hash(), now).await, "rotate_refresh");
    assert_eq!(reused, Rotation::Reused(family), "a token two rotations old must be reported as Reused");
    let found = ok(store.find_refresh(&t3, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Unknown, "after reuse the family's current token must be Unknown");
}

/// Fifty tasks rotate the same current token at once, each to its own next token.
///
/// Rotation is compare-and-swap, so exactly one succeeds (`Rotated`). Every other presentation is
/// decided after that one, when the presented token is already rotated out: it is reuse by
/// definition (RFC 9700 §4.14.2; the server cannot tell a client's duplicate request from an
/// attacker's replay). The first of them revokes the family and reports `Reused`; the rest find a
/// revoked family and report `Unknown`, as a sequential presentation after revocation would. So
/// the outcome is exactly one `Rotated`, one `Reused` and forty-eight `Unknown`, and the family
/// ends revoked: the winner's new token is refused too, and no loser's next token was installed.
///
/// This is rotation without a grace period: a client that refreshes concurrently with one token
/// loses its grant and must authorize again. That is deliberate (a grace period would let an
/// attacker racing the client keep a live token); a store must not soften it.
pub async fn refresh_rotation_race_has_one_winner<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (family, token) = create_family(&*store, now).await;

    let ready = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let store = Arc::clone(&store);
            let ready = Arc::clone(&ready);
            let next = fresh_hash();
            tokio::spawn(async move {
                start_together(&ready).await;
                let outcome = ok(store.rotate_refresh(&token, &next, now).await, "rotate_refresh");
                (next, outcome)
            })
        })
        .collect();
    let mut results = Vec::with_capacity(RACERS);
    for task in tasks {
        results.push(task.await.expect("a racing rotate_refresh task panicked"));
    }

    let count = |wanted: fn(&Rotation) -> bool| results.iter().filter(|(_, outcome)| wanted(outcome)).count();
    let rotated = count(|o| matches!(o, Rotation::Rotated(_)));
    let reused = count(|o| matches!(o, Rotation::Reused(_)));
    assert_eq!(rotated, 1, "exactly one of {RACERS} concurrent rotations of one token must rotate it");
    assert_eq!(
        reused, 1,
        "exactly one losing rotation must report reuse (and revoke); the rest must find the family revoked"
    );
    for (_, outcome) in &results {
        match outcome {
            Rotation::Rotated(f) | Rotation::Reused(f) => {
                assert_eq!(f, &family, "the family must be reported as created");
            }
            Rotation::Unknown => {}
        }
    }

    for (next, outcome) in &results {
        let found = ok(store.find_refresh(next, now).await, "find_refresh");
        let role = if matches!(outcome, Rotation::Rotated(_)) { "the winner's" } else { "a loser's" };
        assert_eq!(
            found,
            RefreshLookup::Unknown,
            "after the race the family is revoked: {role} next token must be Unknown"
        );
    }
    let winner = results.iter().find(|(_, o)| matches!(o, Rotation::Rotated(_))).map(|(next, _)| *next);
    if let Some(winner) = winner {
        let rotated = ok(store.rotate_refresh(&winner, &fresh_hash(), now).await, "rotate_refresh");
        assert_eq!(rotated, Rotation::Unknown, "after the race the winner's new token must not rotate");
    }
    let found = ok(store.find_refresh(&token, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Unknown, "after the race the raced token must be Unknown");
}

/// A family id is created once: a second creation under the same id returns `false` and changes
/// nothing (the first token stays current, the second is unknown).
pub async fn refresh_family_is_created_once<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (family, first) = create_family(&*store, now).await;
    let mut impostor = refresh_family(now);
    impostor.family_id.clone_from(&family.family_id);
    let second = fresh_hash();

    let created = ok(store.create_refresh_family(&impostor, &second).await, "create_refresh_family");
    assert!(!created, "create_refresh_family with an existing family id must return false");
    let found = ok(store.find_refresh(&first, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Current(family), "a refused creation must leave the existing family unchanged");
    let found = ok(store.find_refresh(&second, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Unknown, "a refused creation must not store its token");
}

/// A family id revoked before it exists cannot be created: when a replayed code revokes the family
/// its first redemption is still creating, the creation must lose (RFC 6749 §4.1.2: tokens issued
/// from a replayed code are revoked).
pub async fn refresh_revoked_family_cannot_be_created<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let family = refresh_family(now);
    let token = fresh_hash();
    ok(store.revoke_refresh_family(&family.family_id, family.expires_at).await, "revoke_refresh_family");

    let created = ok(store.create_refresh_family(&family, &token).await, "create_refresh_family");
    assert!(!created, "create_refresh_family must return false for a family id revoked before");
    let found = ok(store.find_refresh(&token, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Unknown, "a family refused for revocation must not store its token");
}

/// Revoking a family refuses every token it had — current and rotated out, in find and rotate —
/// for good (the id cannot be created again), and leaves other families alone.
pub async fn refresh_revocation_refuses_tokens<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (family, t1) = create_family(&*store, now).await;
    let (other, other_token) = create_family(&*store, now).await;
    let t2 = fresh_hash();
    ok(store.rotate_refresh(&t1, &t2, now).await, "rotate_refresh");

    ok(store.revoke_refresh_family(&family.family_id, family.expires_at).await, "revoke_refresh_family");
    for (name, token) in [("rotated-out token", t1), ("current token", t2)] {
        let found = ok(store.find_refresh(&token, now).await, "find_refresh");
        assert_eq!(found, RefreshLookup::Unknown, "a revoked family's {name} must be Unknown to find_refresh");
        let rotated = ok(store.rotate_refresh(&token, &fresh_hash(), now).await, "rotate_refresh");
        assert_eq!(rotated, Rotation::Unknown, "a revoked family's {name} must be Unknown to rotate_refresh");
    }
    let recreated = ok(store.create_refresh_family(&family, &fresh_hash()).await, "create_refresh_family");
    assert!(!recreated, "a revoked family must not be created again under the same id");

    let found = ok(store.find_refresh(&other_token, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Current(other), "revoking one family must not touch another");
}

/// A family is judged against the `now` passed in: its tokens work before its `expires_at` and are
/// `Unknown` after it — a rotated-out one too (an expired family is not revoked for reuse, it is
/// gone).
pub async fn refresh_family_expires<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (family, t1) = create_family(&*store, now).await;
    let t2 = fresh_hash();
    ok(store.rotate_refresh(&t1, &t2, now).await, "rotate_refresh");

    let before = family.expires_at - SECOND;
    let found = ok(store.find_refresh(&t2, before).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Current(family.clone()), "a family must be live one second before its expiry");

    let after = family.expires_at + SECOND;
    for (name, token) in [("current token", t2), ("rotated-out token", t1)] {
        let found = ok(store.find_refresh(&token, after).await, "find_refresh");
        assert_eq!(found, RefreshLookup::Unknown, "an expired family's {name} must be Unknown to find_refresh");
    }
    for (name, token) in [("current token", t2), ("rotated-out token", t1)] {
        let rotated = ok(store.rotate_refresh(&token, &fresh_hash(), after).await, "rotate_refresh");
        assert_eq!(rotated, Rotation::Unknown, "an expired family's {name} must be Unknown to rotate_refresh");
    }
}

/// A token never issued is `Unknown` to find and to rotate, and rotating it installs nothing.
pub async fn refresh_unknown_token_is_unknown<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (family, token) = create_family(&*store, now).await;
    let (unknown, next) = (fresh_hash(), fresh_hash());

    let found = ok(store.find_refresh(&unknown, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Unknown, "a token never issued must be Unknown to find_refresh");
    let rotated = ok(store.rotate_refresh(&unknown, &next, now).await, "rotate_refresh");
    assert_eq!(rotated, Rotation::Unknown, "a token never issued must be Unknown to rotate_refresh");
    let found = ok(store.find_refresh(&next, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Unknown, "rotating an unknown token must not install the next one");
    let found = ok(store.find_refresh(&token, now).await, "find_refresh");
    assert_eq!(found, RefreshLookup::Current(family), "an unknown token must not disturb an existing family");
}
