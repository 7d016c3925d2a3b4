//! The contract every [`Store`] must meet, as a test suite that runs against any implementation.
//!
//! Each case is a public async function that takes a fresh store and panics, naming the rule the
//! store broke, when it breaks one. [`store_contract_tests!`](crate::store_contract_tests) expands
//! into one test per case; [`run_all`] runs every case in one test.
//!
//! ```
//! # use attesto_runtime as attesto;
//! // tests/store.rs, in a crate with `tokio` (features `macros` and `rt-multi-thread`) among its
//! // dev-dependencies: the expansion uses `#[tokio::test]`.
//! attesto::store_contract_tests!(memory, attesto::MemoryStore::new());
//! # fn main() {}
//! ```
//!
//! The cases are written so that a database store can run them against one shared database:
//!
//! - every handle, code, refresh token, family id and `jti` is a fresh random value, so cases
//!   neither see each other's entries nor need an empty store;
//! - times are whole seconds, so a store that keeps times at second precision still returns
//!   values equal to what was put;
//! - expiry is tested by passing a `now` past an entry's expiry, never by sleeping, and time
//!   never goes backwards within a case, so a store may delete what it finds expired; the one
//!   operation judged against the store's own clock, [`Store::insert_dpop_jti`], is tested with
//!   an entry whose expiry is already in the past.
//!
//! The race cases spawn Tokio tasks, so every case must run inside a Tokio runtime; a
//! multi-thread runtime makes the races real.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::HostError;
use crate::model::client::ClientId;
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::scope::Scopes;
use crate::store::{
    AuthorizationCode, AuthorizationRequest, CodeIssue, CodeRedemption, PendingAuthorization, PendingStage,
    RefreshFamily, RefreshLookup, ResponseMode, Rotation, Store, TokenHash, new_id, new_secret,
};

/// How many tasks race for one code or one refresh token.
const RACERS: usize = 50;

const PENDING_LIFETIME: Duration = Duration::from_secs(600);
const PUSHED_LIFETIME: Duration = Duration::from_secs(60);
const CODE_LIFETIME: Duration = Duration::from_secs(60);
const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const FAMILY_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a DPoP proof entry lives: the default `iat` window and skew (RFC 9449 §11.1).
const DPOP_PROOF_LIFETIME: Duration = Duration::from_secs(121);
const SECOND: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// The list of cases
// ---------------------------------------------------------------------------------------------

/// Every case, in one list that both [`run_all`] and
/// [`store_contract_tests!`](crate::store_contract_tests) expand, so that a new case cannot be
/// left out of either. Calls the macro at the path in brackets with the remaining arguments
/// followed by `[case, …]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __attesto_store_contract_cases {
    ([$($callback:tt)*] $($args:tt)*) => {
        $($callback)*!($($args)* [
            pending_is_taken_once,
            pending_expires,
            pending_unknown_handle_is_none,
            pending_handles_are_independent,
            pending_consent_stage_round_trips,
            pending_pushed_stage_round_trips,
            pending_take_race_has_one_winner,
            code_is_redeemed_once,
            code_is_found_without_being_spent,
            code_expires,
            code_unknown_is_unknown,
            code_redemption_race_has_one_winner,
            code_replay_is_remembered_after_code_expiry,
            refresh_family_is_found,
            refresh_rotation_replaces_current,
            refresh_reuse_revokes_family,
            refresh_reuse_of_any_old_token_is_detected,
            refresh_rotation_race_has_one_winner,
            refresh_family_is_created_once,
            refresh_revoked_family_cannot_be_created,
            refresh_revocation_refuses_tokens,
            refresh_family_expires,
            refresh_unknown_token_is_unknown,
            access_token_is_revoked_until_expiry,
            access_token_revocation_is_per_jti,
            access_token_revocations_are_listed_until_expiry,
            dpop_jti_is_inserted_once,
            dpop_jti_expired_entry_may_be_reinserted,
            dpop_jti_insert_race_has_one_winner,
        ]);
    };
}

/// Expands to a test module for a store, one `#[tokio::test]` per case of the
/// [store contract](crate::testing::store_contract).
///
/// `store_contract_tests!(name, make)` declares `mod name`, in which every case is an
/// `async fn` test that evaluates `make` to a fresh store and runs the case on it. `make` is
/// evaluated inside the async test, so it may `.await` (to connect to a database, say), and
/// inside the module, which `use`s everything of the enclosing one.
///
/// The tests run on a multi-thread runtime with 4 workers, so that the race cases race. The crate
/// calling the macro needs `tokio` with the `macros` and `rt-multi-thread` features (as a
/// dev-dependency), because `#[tokio::test]` is tokio's attribute.
///
/// ```
/// # use attesto_runtime as attesto;
/// // tests/store.rs
/// attesto::store_contract_tests!(memory, attesto::MemoryStore::new());
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! store_contract_tests {
    ($name:ident, $make:expr $(,)?) => {
        $crate::__attesto_store_contract_cases!([$crate::__attesto_store_contract_module] $name, $make,);
    };
}

/// The module [`store_contract_tests!`](crate::store_contract_tests) declares, given the list of
/// cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __attesto_store_contract_module {
    ($name:ident, $make:expr, [$($case:ident),* $(,)?]) => {
        mod $name {
            // `make` may name what the enclosing module imported.
            #[allow(unused_imports)]
            use super::*;

            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    $crate::testing::store_contract::$case(::std::sync::Arc::new($make)).await;
                }
            )*
        }
    };
}

/// Runs every case of the contract, one after the other, each on a fresh store from `make`.
///
/// For a store that is tested without [`store_contract_tests!`](crate::store_contract_tests)'s one
/// test per case. It must run inside a Tokio runtime (the race cases spawn tasks); a failing case
/// panics with its message, and the case's name is printed to stderr before it starts.
///
/// ```
/// # use attesto_runtime as attesto;
/// #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
/// async fn memory_store_meets_the_contract() {
///     attesto::store_contract::run_all(attesto::MemoryStore::new).await;
/// }
/// # fn main() {}
/// ```
pub async fn run_all<S: Store>(make: impl Fn() -> S) {
    macro_rules! run_cases {
        ($make:ident, [$($case:ident),* $(,)?]) => {
            $(
                eprintln!("store contract: {}", stringify!($case));
                $case(Arc::new($make())).await;
            )*
        };
    }
    crate::__attesto_store_contract_cases!([run_cases] make,);
}

// ---------------------------------------------------------------------------------------------
// Pending authorization requests
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Authorization codes
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Refresh token families
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Revoked access tokens
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// DPoP proofs seen
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------------------------

/// The result of a store operation, or a panic naming the operation: a store that fails cannot
/// meet the contract.
#[track_caller]
fn ok<T>(result: Result<T, HostError>, operation: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("store contract: `{operation}` failed: {error:?}"),
    }
}

/// The current time, truncated to whole seconds, so that a store keeping times at second
/// precision (an SQLite `INTEGER` column, say) returns values equal to what was put.
fn whole_seconds_now() -> SystemTime {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs())
}

/// The hash of a fresh random value, so that cases never collide in a shared store.
fn fresh_hash() -> TokenHash {
    new_secret().1
}

/// A fresh random identifier with a readable prefix.
fn fresh_id(kind: &str) -> String {
    format!("{kind}-{}", new_id())
}

/// Waits until every racer has reached this point, so that the racing operations start together
/// rather than one task finishing before the next one is spawned. Yields instead of blocking so
/// that it works with any number of runtime workers.
async fn start_together(ready: &AtomicUsize) {
    ready.fetch_add(1, Ordering::SeqCst);
    while ready.load(Ordering::SeqCst) < RACERS {
        tokio::task::yield_now().await;
    }
}

fn scopes(value: &str) -> Scopes {
    Scopes::parse(value).expect("fixture scopes are valid")
}

/// A principal with every optional field set.
fn principal(now: SystemTime) -> AuthenticatedPrincipal {
    AuthenticatedPrincipal::new(fresh_id("user"), now - Duration::from_secs(30))
        .with_acr("urn:example:acr:mfa")
        .with_amr(["pwd", "otp"])
}

/// A request with every optional field set, and text that needs escaping in most encodings.
fn full_request(now: SystemTime) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: ClientId::new("contract-client"),
        redirect_uri: "https://client.example.com/callback?from=contract&x=%20y".to_owned(),
        redirect_uri_sent: true,
        response_mode: ResponseMode::FormPost,
        state: Some(fresh_id("state \"quoted\" 'é'")),
        nonce: Some(fresh_id("nonce")),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        scopes: scopes("openid profile email offline_access"),
        audience: vec!["https://api.example.com".to_owned(), "https://mcp.example.com/mcp".to_owned()],
        prompt_login: true,
        prompt_consent: true,
        prompt_none: false,
        max_age: Some(300),
        login_hint: Some("émile@example.com".to_owned()),
        started_at: now - Duration::from_secs(5),
        dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".to_owned()),
    }
}

/// A request with every optional field unset.
fn minimal_request(now: SystemTime) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: ClientId::new("contract-public-client"),
        redirect_uri: "http://127.0.0.1:8765/callback".to_owned(),
        redirect_uri_sent: false,
        response_mode: ResponseMode::Query,
        state: None,
        nonce: None,
        code_challenge: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned(),
        scopes: scopes("read"),
        audience: vec!["https://mcp.example.com/mcp".to_owned()],
        prompt_login: false,
        prompt_consent: false,
        prompt_none: true,
        max_age: None,
        login_hint: None,
        started_at: now,
        dpop_jkt: None,
    }
}

fn pending(request: AuthorizationRequest, stage: PendingStage, now: SystemTime) -> PendingAuthorization {
    PendingAuthorization { request, stage, expires_at: now + PENDING_LIFETIME }
}

fn code_grant(now: SystemTime) -> AuthorizationCode {
    AuthorizationCode { request: full_request(now), principal: principal(now), expires_at: now + CODE_LIFETIME }
}

/// What a redemption issues: a fresh family id and `jti`, so racing redemptions are told apart.
fn code_issue(now: SystemTime) -> CodeIssue {
    CodeIssue {
        family_id: fresh_id("family"),
        access_token_jti: fresh_id("jti"),
        access_token_expires_at: now + ACCESS_TOKEN_LIFETIME,
    }
}

fn refresh_family(now: SystemTime) -> RefreshFamily {
    RefreshFamily {
        family_id: fresh_id("family"),
        client_id: ClientId::new("contract-client"),
        principal: principal(now),
        scopes: scopes("openid offline_access read"),
        audience: vec!["https://api.example.com".to_owned(), "https://mcp.example.com/mcp".to_owned()],
        expires_at: now + FAMILY_LIFETIME,
        dpop_jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".to_owned()),
    }
}

/// A new family in the store, and its first token.
async fn create_family<S: Store>(store: &S, now: SystemTime) -> (RefreshFamily, TokenHash) {
    let family = refresh_family(now);
    let token = fresh_hash();
    let created = ok(store.create_refresh_family(&family, &token).await, "create_refresh_family");
    assert!(created, "create_refresh_family of a new family id must return true");
    (family, token)
}
