//! Device grants (RFC 8628): found by either code, decided once, polled and redeemed once.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, SystemTime};

use super::fixtures::{RACERS, SECOND, fresh_hash, ok, principal, scopes, start_together, whole_seconds_now};
use crate::model::client::ClientId;
use crate::protocol::user_code;
use crate::store::{DeviceDecision, DeviceGrant, DevicePoll, DeviceStatus, SLOW_DOWN_STEP, Store};

const DEVICE_LIFETIME: Duration = Duration::from_secs(600);
const INTERVAL: Duration = Duration::from_secs(5);

/// A pending grant with a fresh user code, whole-second times.
fn device_grant(now: SystemTime) -> DeviceGrant {
    DeviceGrant::new(
        ClientId::new("contract-client"),
        user_code::generate(),
        scopes("openid offline_access read"),
        vec!["https://api.example.com".to_owned(), "https://mcp.example.com/mcp".to_owned()],
        now,
        DEVICE_LIFETIME,
        INTERVAL,
    )
}

/// A grant is found, as put, by its device code at any stage while it is held, and by its user
/// code while it awaits the user; an unknown code of either kind finds nothing.
pub async fn device_grant_is_found_by_both_codes<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let device_code = fresh_hash();
    let grant = device_grant(now);
    assert!(ok(store.put_device_grant(&device_code, &grant).await, "put_device_grant"), "a new grant must be stored");
    let found = ok(store.find_device_grant(&device_code, now).await, "find_device_grant");
    assert_eq!(found.as_ref(), Some(&grant), "a grant must be found by its device code as put");
    let by_user =
        ok(store.find_device_grant_by_user_code(&grant.user_code, now).await, "find_device_grant_by_user_code");
    assert_eq!(by_user, Some((device_code, grant.clone())), "a pending grant must be found by its user code");
    assert_eq!(ok(store.find_device_grant(&fresh_hash(), now).await, "find_device_grant"), None);
    let unknown = ok(store.find_device_grant_by_user_code(&user_code::generate(), now).await, "by user code");
    assert_eq!(unknown, None, "an unknown user code must find nothing");
}

/// Two grants held at once never share a user code: the second put of one reports `false` and
/// stores nothing, so that the endpoint draws another.
pub async fn device_user_code_is_unique_while_held<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (first, second) = (fresh_hash(), fresh_hash());
    let grant = device_grant(now);
    assert!(ok(store.put_device_grant(&first, &grant).await, "put_device_grant"));
    let taken = ok(store.put_device_grant(&second, &grant).await, "put_device_grant");
    assert!(!taken, "a user code held by another grant must be refused");
    assert_eq!(ok(store.find_device_grant(&second, now).await, "find_device_grant"), None, "nothing stored");
    assert!(ok(store.put_device_grant(&second, &device_grant(now)).await, "put_device_grant"), "another code is fine");
}

/// The first decision stands: a second one, either way, changes nothing, and a decided grant is
/// no longer found by its user code.
pub async fn device_decision_is_taken_once<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let device_code = fresh_hash();
    let grant = device_grant(now);
    ok(store.put_device_grant(&device_code, &grant).await, "put_device_grant");
    let user = principal(now);
    let approve = DeviceDecision::Approve(user.clone());
    assert!(ok(store.decide_device_grant(&device_code, &approve, now).await, "decide"), "the first decision");
    assert!(!ok(store.decide_device_grant(&device_code, &DeviceDecision::Deny, now).await, "decide"), "a second one");
    let found = ok(store.find_device_grant(&device_code, now).await, "find_device_grant").expect("still held");
    assert_eq!(found.status, DeviceStatus::Approved { principal: user }, "the approval must be kept with its user");
    let by_user = ok(store.find_device_grant_by_user_code(&grant.user_code, now).await, "by user code");
    assert_eq!(by_user, None, "a decided grant must not be found by its user code");
    let unknown = ok(store.decide_device_grant(&fresh_hash(), &DeviceDecision::Deny, now).await, "decide");
    assert!(!unknown, "deciding an unknown grant must report false");
}

/// Polls of an undecided grant answer pending; one sooner than the interval answers slow down and
/// grows the interval by 5 seconds, for good (RFC 8628 §3.5).
pub async fn device_poll_slows_down_and_remembers_the_interval<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let device_code = fresh_hash();
    ok(store.put_device_grant(&device_code, &device_grant(now)).await, "put_device_grant");
    assert_eq!(ok(store.poll_device_grant(&device_code, now).await, "poll"), DevicePoll::Pending);
    let grown = INTERVAL + SLOW_DOWN_STEP;
    let soon = now + SECOND;
    assert_eq!(ok(store.poll_device_grant(&device_code, soon).await, "poll"), DevicePoll::SlowDown { interval: grown });
    // The old interval has passed since the last poll, the grown one has not.
    let later = soon + INTERVAL + SECOND;
    let outcome = ok(store.poll_device_grant(&device_code, later).await, "poll");
    assert_eq!(outcome, DevicePoll::SlowDown { interval: grown + SLOW_DOWN_STEP }, "the grown interval must be kept");
    let found = ok(store.find_device_grant(&device_code, later).await, "find_device_grant").expect("held");
    assert_eq!(found.last_poll, Some(later), "the last poll must be recorded");
    let patient = later + grown + SLOW_DOWN_STEP;
    assert_eq!(ok(store.poll_device_grant(&device_code, patient).await, "poll"), DevicePoll::Pending);
}

/// An approved grant is redeemed by one poll, with its user; every later poll finds it spent. A
/// denied one reports the denial.
pub async fn device_approval_is_redeemed_once<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let (approved, denied) = (fresh_hash(), fresh_hash());
    ok(store.put_device_grant(&approved, &device_grant(now)).await, "put_device_grant");
    ok(store.put_device_grant(&denied, &device_grant(now)).await, "put_device_grant");
    let user = principal(now);
    ok(store.decide_device_grant(&approved, &DeviceDecision::Approve(user.clone()), now).await, "decide");
    ok(store.decide_device_grant(&denied, &DeviceDecision::Deny, now).await, "decide");
    let first = ok(store.poll_device_grant(&approved, now).await, "poll");
    assert_eq!(first, DevicePoll::Approved { principal: user }, "the first poll must redeem the approval");
    assert_eq!(ok(store.poll_device_grant(&approved, now + SECOND).await, "poll"), DevicePoll::Redeemed);
    assert_eq!(ok(store.poll_device_grant(&denied, now).await, "poll"), DevicePoll::Denied);
    assert_eq!(ok(store.poll_device_grant(&fresh_hash(), now).await, "poll"), DevicePoll::Unknown);
}

/// Of many concurrent polls of an approved grant, exactly one redeems it.
pub async fn device_redemption_race_has_one_winner<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let device_code = fresh_hash();
    ok(store.put_device_grant(&device_code, &device_grant(now)).await, "put_device_grant");
    ok(store.decide_device_grant(&device_code, &DeviceDecision::Approve(principal(now)), now).await, "decide");
    let ready = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let (store, ready) = (Arc::clone(&store), Arc::clone(&ready));
            tokio::spawn(async move {
                start_together(&ready).await;
                ok(store.poll_device_grant(&device_code, now).await, "poll_device_grant")
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        match task.await.expect("a racing poll panicked") {
            DevicePoll::Approved { .. } => winners += 1,
            DevicePoll::Redeemed => {}
            other => panic!("a concurrent poll of an approved grant must be Approved or Redeemed, not {other:?}"),
        }
    }
    assert_eq!(winners, 1, "exactly one of {RACERS} concurrent polls must redeem the grant");
}

/// At its expiry a grant takes no decision, is no longer found by its user code, and polls
/// `Expired` while it is held; after `keep_until` it is unknown.
pub async fn device_grant_expires<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let device_code = fresh_hash();
    let grant = device_grant(now);
    ok(store.put_device_grant(&device_code, &grant).await, "put_device_grant");
    let at = grant.expires_at;
    let by_user = ok(store.find_device_grant_by_user_code(&grant.user_code, at).await, "by user code");
    assert_eq!(by_user, None, "an expired grant must not be found by its user code");
    let late =
        ok(store.decide_device_grant(&device_code, &DeviceDecision::Approve(principal(now)), at).await, "decide");
    assert!(!late, "an expired grant must not be approved");
    assert_eq!(ok(store.poll_device_grant(&device_code, at).await, "poll"), DevicePoll::Expired);
    let gone = grant.keep_until;
    assert_eq!(ok(store.poll_device_grant(&device_code, gone).await, "poll"), DevicePoll::Unknown);
    assert_eq!(ok(store.find_device_grant(&device_code, gone).await, "find_device_grant"), None);
}
