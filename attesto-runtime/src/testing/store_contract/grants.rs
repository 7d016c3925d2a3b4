//! Grants: recorded, listed per user newest first, used, revoked by their user only, expired.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::fixtures::{FAMILY_LIFETIME, SECOND, claims_request, fresh_id, ok, scopes, whole_seconds_now};
use crate::model::client::ClientId;
use crate::store::{Grant, Store};

/// A grant of `subject`, made at `created_at`, with every field set.
fn grant(subject: &str, created_at: SystemTime) -> Grant {
    Grant::new(
        fresh_id("family"),
        ClientId::new("contract-client"),
        subject.to_owned(),
        scopes("openid offline_access read"),
        vec!["https://api.example.com".to_owned(), "https://mcp.example.com/mcp".to_owned()],
        created_at,
        created_at + FAMILY_LIFETIME,
    )
    .with_claims(Some(claims_request()), vec!["de-CH".to_owned()])
}

/// A user's grants come back as recorded, newest first, at most `limit`; another user's are not
/// among them; recording a grant id a second time changes nothing.
pub async fn grants_are_listed_per_subject_newest_first<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let subject = fresh_id("user");
    let grants: Vec<Grant> = (0..3).map(|i| grant(&subject, now - Duration::from_secs(30 - i))).collect();
    // Recorded out of order: the list is ordered by creation, not by insertion.
    for grant in [&grants[1], &grants[0], &grants[2]] {
        ok(store.put_grant(grant).await, "put_grant");
    }
    ok(store.put_grant(&grant(&fresh_id("other user"), now)).await, "put_grant");
    let mut again = grants[0].clone();
    again.scopes = scopes("read");
    ok(store.put_grant(&again).await, "put_grant");

    let listed = ok(store.grants(&subject, now, 10).await, "grants");
    let newest_first: Vec<Grant> = grants.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first, "a user's grants, as recorded (the first record kept), newest first");
    let listed = ok(store.grants(&subject, now, 2).await, "grants");
    assert_eq!(listed, newest_first[..2], "at most `limit` grants, the newest");
    let listed = ok(store.grants(&fresh_id("nobody"), now, 10).await, "grants");
    assert!(listed.is_empty(), "a user without grants has none listed");
}

/// A use moves a grant's `last_used_at`, and nothing else.
pub async fn grant_use_is_recorded<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let subject = fresh_id("user");
    let recorded = grant(&subject, now);
    ok(store.put_grant(&recorded).await, "put_grant");
    let later = now + 10 * SECOND;
    ok(store.record_grant_use(&recorded.grant_id, later).await, "record_grant_use");
    let listed = ok(store.grants(&subject, later, 10).await, "grants");
    let mut used = recorded.clone();
    used.last_used_at = later;
    assert_eq!(listed, vec![used], "the grant's last use is the recorded one, the rest unchanged");
    ok(store.record_grant_use(&fresh_id("unknown grant"), later).await, "record_grant_use of an unknown grant");
}

/// Only the grant's own user revokes it: another user's attempt returns `None` and changes
/// nothing; the user's returns the grant, which is no longer listed, and again on a second try.
pub async fn grant_is_revoked_by_its_subject_only<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (subject, intruder) = (fresh_id("user"), fresh_id("intruder"));
    let (kept, target) = (grant(&subject, now - SECOND), grant(&subject, now));
    ok(store.put_grant(&kept).await, "put_grant");
    ok(store.put_grant(&target).await, "put_grant");
    ok(store.put_grant(&grant(&intruder, now)).await, "put_grant");

    let refused = ok(store.revoke_grant(&intruder, &target.grant_id, now).await, "revoke_grant");
    assert_eq!(refused, None, "another user's grant must not be revoked");
    let listed = ok(store.grants(&subject, now, 10).await, "grants");
    assert_eq!(listed, vec![target.clone(), kept.clone()], "another user's attempt changes nothing");

    let revoked = ok(store.revoke_grant(&subject, &target.grant_id, now).await, "revoke_grant");
    assert_eq!(revoked, Some(target.clone()), "the user's own grant is revoked and returned");
    let listed = ok(store.grants(&subject, now, 10).await, "grants");
    assert_eq!(listed, vec![kept], "a revoked grant is no longer listed; the user's others are");
    let again = ok(store.revoke_grant(&subject, &target.grant_id, now).await, "revoke_grant");
    assert_eq!(again, Some(target.clone()), "revoking again returns the grant, so that a retry completes");
    ok(store.record_grant_use(&target.grant_id, now + SECOND).await, "record_grant_use");
    let listed = ok(store.grants(&subject, now + SECOND, 10).await, "grants");
    assert!(listed.iter().all(|g| g.grant_id != target.grant_id), "a use does not bring a revoked grant back");
    let unknown = ok(store.revoke_grant(&subject, &fresh_id("unknown grant"), now).await, "revoke_grant");
    assert_eq!(unknown, None, "an unknown grant id revokes nothing");
}

/// An expired grant is neither listed nor revoked.
pub async fn grant_expires<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let subject = fresh_id("user");
    let recorded = grant(&subject, now);
    ok(store.put_grant(&recorded).await, "put_grant");
    let before = recorded.expires_at - SECOND;
    let listed = ok(store.grants(&subject, before, 10).await, "grants");
    assert_eq!(listed, vec![recorded.clone()], "a grant is listed until it expires");
    let after = recorded.expires_at;
    let listed = ok(store.grants(&subject, after, 10).await, "grants");
    assert!(listed.is_empty(), "an expired grant must not be listed");
    let revoked = ok(store.revoke_grant(&subject, &recorded.grant_id, after).await, "revoke_grant");
    assert_eq!(revoked, None, "an expired grant is not revoked");
}

/// A live grant is found by its id, as recorded (its requested claims included) with its last
/// use; a revoked, expired or unknown one is not.
pub async fn grant_is_found_while_live<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let subject = fresh_id("user");
    let (recorded, revoked) = (grant(&subject, now), grant(&subject, now));
    ok(store.put_grant(&recorded).await, "put_grant");
    ok(store.put_grant(&revoked).await, "put_grant");

    let found = ok(store.find_grant(&recorded.grant_id, now).await, "find_grant");
    assert_eq!(found.as_ref(), Some(&recorded), "a live grant is found as recorded, its claims included");
    let later = now + 10 * SECOND;
    ok(store.record_grant_use(&recorded.grant_id, later).await, "record_grant_use");
    let mut used = recorded.clone();
    used.last_used_at = later;
    let found = ok(store.find_grant(&recorded.grant_id, later).await, "find_grant");
    assert_eq!(found, Some(used), "a grant is found with its last use");

    ok(store.revoke_grant(&subject, &revoked.grant_id, now).await, "revoke_grant");
    let found = ok(store.find_grant(&revoked.grant_id, now).await, "find_grant");
    assert_eq!(found, None, "a revoked grant is not found");
    let found = ok(store.find_grant(&recorded.grant_id, recorded.expires_at).await, "find_grant");
    assert_eq!(found, None, "an expired grant is not found");
    let found = ok(store.find_grant(&fresh_id("unknown grant"), now).await, "find_grant");
    assert_eq!(found, None, "an unknown grant id finds nothing");
}
