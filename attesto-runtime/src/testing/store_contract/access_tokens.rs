//! Revoked access tokens.

use std::sync::Arc;
use std::time::SystemTime;

use super::fixtures::{ACCESS_TOKEN_LIFETIME, SECOND, fresh_id, ok, whole_seconds_now};
use crate::store::Store;

/// An access token is not revoked until it is; then it is revoked until its expiry, after which the
/// store may forget it (the token is refused as expired anyway).
pub async fn access_token_is_revoked_until_expiry<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let jti = fresh_id("jti");
    let expires_at = now + ACCESS_TOKEN_LIFETIME;

    let revoked = ok(store.is_access_token_revoked(&jti, now).await, "is_access_token_revoked");
    assert!(!revoked, "an access token must not be revoked before revoke_access_token");
    ok(store.revoke_access_token(&jti, expires_at).await, "revoke_access_token");
    let revoked = ok(store.is_access_token_revoked(&jti, now).await, "is_access_token_revoked");
    assert!(revoked, "an access token must be revoked after revoke_access_token");
    let revoked = ok(store.is_access_token_revoked(&jti, expires_at - SECOND).await, "is_access_token_revoked");
    assert!(revoked, "a revoked access token must stay revoked until its expiry");
    let revoked = ok(store.is_access_token_revoked(&jti, expires_at + SECOND).await, "is_access_token_revoked");
    assert!(!revoked, "a revoked access token must be forgotten after its expiry");
}

/// Revocation is per `jti`: revoking one token does not revoke another.
pub async fn access_token_revocation_is_per_jti<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (revoked_jti, other_jti) = (fresh_id("jti"), fresh_id("jti"));
    ok(store.revoke_access_token(&revoked_jti, now + ACCESS_TOKEN_LIFETIME).await, "revoke_access_token");

    let revoked = ok(store.is_access_token_revoked(&revoked_jti, now).await, "is_access_token_revoked");
    assert!(revoked, "the revoked jti must be revoked");
    let other = ok(store.is_access_token_revoked(&other_jti, now).await, "is_access_token_revoked");
    assert!(!other, "revoking one jti must not revoke another");
}

/// The list of revoked access tokens — what every instance refreshes its in-process copy from —
/// holds each live revocation once, with the expiry it was revoked until, and drops it once that
/// expiry is past `now`. A store shared by other cases may list their revocations too: only
/// this case's `jti`s are looked at.
pub async fn access_token_revocations_are_listed_until_expiry<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (short, long, never) = (fresh_id("jti"), fresh_id("jti"), fresh_id("jti"));
    let (short_expiry, long_expiry) = (now + ACCESS_TOKEN_LIFETIME, now + 2 * ACCESS_TOKEN_LIFETIME);
    ok(store.revoke_access_token(&short, short_expiry).await, "revoke_access_token");
    ok(store.revoke_access_token(&long, long_expiry).await, "revoke_access_token");
    // Revoking a token again (two instances, or a retried request) must not list it twice.
    ok(store.revoke_access_token(&long, long_expiry).await, "revoke_access_token");

    let listed = |list: &[(String, SystemTime)], jti: &str| -> Vec<SystemTime> {
        list.iter().filter(|(listed, _)| listed == jti).map(|(_, expiry)| *expiry).collect()
    };
    let list = ok(store.revoked_access_tokens(now).await, "revoked_access_tokens");
    assert_eq!(listed(&list, &short), [short_expiry], "a revoked access token must be listed once, with its expiry");
    assert_eq!(listed(&list, &long), [long_expiry], "a token revoked twice must be listed once, with its expiry");
    assert_eq!(listed(&list, &never), Vec::<SystemTime>::new(), "a token never revoked must not be listed");

    let list = ok(store.revoked_access_tokens(short_expiry + SECOND).await, "revoked_access_tokens");
    assert_eq!(
        listed(&list, &short),
        Vec::<SystemTime>::new(),
        "a revoked access token past its expiry must not be listed"
    );
    assert_eq!(listed(&list, &long), [long_expiry], "a revocation must stay listed until its own expiry");
}
