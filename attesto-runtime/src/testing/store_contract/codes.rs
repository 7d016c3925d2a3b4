//! Authorization codes: redeemed once, replays remembered.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::fixtures::{RACERS, SECOND, code_grant, code_issue, fresh_hash, ok, start_together, whole_seconds_now};
use crate::store::{CodeIssue, CodeRedemption, Store};

/// A code is redeemed once (RFC 6749 §4.1.2). Every later redemption is a replay and reports what
/// the *first* redemption issued, so that the token endpoint revokes the tokens the code really
/// produced rather than ones it is about to issue. Codes are independent of each other.
pub async fn code_is_redeemed_once<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (code, other) = (fresh_hash(), fresh_hash());
    let grant = code_grant(now);
    let other_grant = code_grant(now);
    ok(store.put_code(&code, &grant).await, "put_code");
    ok(store.put_code(&other, &other_grant).await, "put_code");

    let first = code_issue(now);
    let redeemed = ok(store.redeem_code(&code, &first, now).await, "redeem_code");
    assert_eq!(redeemed, CodeRedemption::Redeemed(grant), "the first redemption must return the code's grant as put");

    let second = code_issue(now);
    let replayed = ok(store.redeem_code(&code, &second, now).await, "redeem_code");
    assert_ne!(
        replayed,
        CodeRedemption::Replayed(second),
        "a replay must report the first redemption's issue, not the replaying one's"
    );
    assert_eq!(replayed, CodeRedemption::Replayed(first.clone()), "the second redemption must be a replay");
    let third = ok(store.redeem_code(&code, &code_issue(now), now).await, "redeem_code");
    assert_eq!(third, CodeRedemption::Replayed(first), "every later redemption must report the first issue");

    let redeemed = ok(store.redeem_code(&other, &code_issue(now), now).await, "redeem_code");
    assert_eq!(
        redeemed,
        CodeRedemption::Redeemed(other_grant),
        "redeeming one code must not use another code put before it"
    );
}

/// Finding a code changes nothing: it stays redeemable, a used code is still found (with its grant,
/// so that the token endpoint can tell whose code a replay presents), and an unknown or expired one
/// is not found.
pub async fn code_is_found_without_being_spent<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let code = fresh_hash();
    let grant = code_grant(now);
    ok(store.put_code(&code, &grant).await, "put_code");
    for _ in 0..2 {
        let found = ok(store.find_code(&code, now).await, "find_code");
        assert_eq!(found.as_ref(), Some(&grant), "a live code must be found with its grant as put");
    }
    let first = code_issue(now);
    let redeemed = ok(store.redeem_code(&code, &first, now).await, "redeem_code");
    assert_eq!(redeemed, CodeRedemption::Redeemed(grant.clone()), "finding a code must not spend it");
    let found = ok(store.find_code(&code, now).await, "find_code");
    assert_eq!(found, Some(grant.clone()), "a used code must still be found, with its grant, while it is remembered");
    let replayed = ok(store.redeem_code(&code, &code_issue(now), now).await, "redeem_code");
    assert_eq!(replayed, CodeRedemption::Replayed(first), "finding a used code must not change what a replay reports");
    assert_eq!(ok(store.find_code(&fresh_hash(), now).await, "find_code"), None, "an unknown code must not be found");
    let expiring = fresh_hash();
    ok(store.put_code(&expiring, &grant).await, "put_code");
    let after = grant.expires_at + Duration::from_secs(1);
    assert_eq!(ok(store.find_code(&expiring, after).await, "find_code"), None, "an expired code must not be found");
}

/// A code is judged against the `now` passed in: redeemable before its `expires_at`, unknown
/// after it.
pub async fn code_expires<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (early, late) = (fresh_hash(), fresh_hash());
    let grant = code_grant(now);
    ok(store.put_code(&early, &grant).await, "put_code");
    ok(store.put_code(&late, &grant).await, "put_code");

    let before = ok(store.redeem_code(&early, &code_issue(now), grant.expires_at - SECOND).await, "redeem_code");
    assert_eq!(before, CodeRedemption::Redeemed(grant.clone()), "a code must be redeemable one second before expiry");
    let after = ok(store.redeem_code(&late, &code_issue(now), grant.expires_at + SECOND).await, "redeem_code");
    assert_eq!(after, CodeRedemption::Unknown, "a code past its expires_at must be Unknown");
}

/// A code never put is `Unknown`, and stays so: redeeming it must not record it as used, or a
/// guessed code would make the next guess a "replay" that revokes an innocent family id.
pub async fn code_unknown_is_unknown<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let code = fresh_hash();
    let first = ok(store.redeem_code(&code, &code_issue(now), now).await, "redeem_code");
    assert_eq!(first, CodeRedemption::Unknown, "a code never put must be Unknown");
    let second = ok(store.redeem_code(&code, &code_issue(now), now).await, "redeem_code");
    assert_eq!(second, CodeRedemption::Unknown, "redeeming an unknown code must not record it as used");
}

/// Fifty tasks redeem one code at once, each with its own issue: exactly one gets the grant, and
/// the other forty-nine are replays that all report the winner's issue. Redemption is one atomic
/// step; a store that reads and then writes would hand the code out twice.
pub async fn code_redemption_race_has_one_winner<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let code = fresh_hash();
    let grant = code_grant(now);
    ok(store.put_code(&code, &grant).await, "put_code");

    let ready = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let store = Arc::clone(&store);
            let ready = Arc::clone(&ready);
            let issue = code_issue(now);
            tokio::spawn(async move {
                start_together(&ready).await;
                let outcome = ok(store.redeem_code(&code, &issue, now).await, "redeem_code");
                (issue, outcome)
            })
        })
        .collect();
    let mut results = Vec::with_capacity(RACERS);
    for task in tasks {
        results.push(task.await.expect("a racing redeem_code task panicked"));
    }

    let winners: Vec<&CodeIssue> =
        results.iter().filter(|(_, outcome)| matches!(outcome, CodeRedemption::Redeemed(_))).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "exactly one of {RACERS} concurrent redemptions must redeem the code");
    let winner = winners[0];
    for (_, outcome) in &results {
        match outcome {
            CodeRedemption::Redeemed(redeemed) => assert_eq!(redeemed, &grant, "the winner must get the grant as put"),
            CodeRedemption::Replayed(reported) => {
                assert_eq!(reported, winner, "every losing redemption must report the winner's issue");
            }
            CodeRedemption::Unknown => panic!("a concurrent redemption of a live code must not be Unknown"),
        }
    }
}

/// A used code outlives its own expiry: it is remembered until the access token its redemption
/// issued expires, so a replay within that time is still detected and can revoke that token.
/// After that it may be forgotten, but never redeemed again.
pub async fn code_replay_is_remembered_after_code_expiry<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let code = fresh_hash();
    let grant = code_grant(now);
    let issue = code_issue(now);
    assert!(grant.expires_at + SECOND < issue.access_token_expires_at, "fixture: the code expires first");
    ok(store.put_code(&code, &grant).await, "put_code");
    let redeemed = ok(store.redeem_code(&code, &issue, now).await, "redeem_code");
    assert_eq!(redeemed, CodeRedemption::Redeemed(grant.clone()), "the first redemption must redeem the code");

    let replay_at = grant.expires_at + SECOND;
    let replayed = ok(store.redeem_code(&code, &code_issue(now), replay_at).await, "redeem_code");
    assert_eq!(
        replayed,
        CodeRedemption::Replayed(issue.clone()),
        "a used code must be reported as Replayed after its own expiry, until its access token expires"
    );

    let much_later = issue.access_token_expires_at + SECOND;
    let forgotten = ok(store.redeem_code(&code, &code_issue(now), much_later).await, "redeem_code");
    assert!(
        matches!(forgotten, CodeRedemption::Replayed(_) | CodeRedemption::Unknown),
        "a used code may be forgotten after its access token expires, but never redeemed again: {forgotten:?}"
    );
}
