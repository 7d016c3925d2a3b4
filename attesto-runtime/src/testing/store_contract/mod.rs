//! The contract every [`Store`] must meet, as a test suite that runs against any implementation.
//!
//! Each case is a public async function that takes a fresh store and panics, naming the rule the
//! store broke, when it breaks one. [`store_contract_tests!`](crate::store_contract_tests) expands
//! into one test per case; [`run_all`] runs every case in one test.
//!
//! ```
//! # use attesto_runtime as attesto;
//! // tests/store.rs, in a crate whose dev-dependencies have attesto with the feature `testing`
//! // and `tokio` (features `macros` and `rt-multi-thread`): the expansion uses `#[tokio::test]`.
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

use crate::store::Store;

mod access_tokens;
mod codes;
mod device;
mod dpop;
mod fixtures;
mod grants;
mod logout;
mod pending;
mod refresh;

pub use access_tokens::{
    access_token_is_revoked_until_expiry, access_token_revocation_is_per_jti,
    access_token_revocations_are_listed_until_expiry,
};
pub use codes::{
    code_expires, code_is_found_without_being_spent, code_is_redeemed_once, code_redemption_race_has_one_winner,
    code_replay_is_remembered_after_code_expiry, code_unknown_is_unknown,
};
pub use device::{
    device_approval_is_redeemed_once, device_decision_is_taken_once, device_grant_expires,
    device_grant_is_found_by_both_codes, device_poll_slows_down_and_remembers_the_interval,
    device_redemption_race_has_one_winner, device_user_code_is_unique_while_held,
};
pub use dpop::{
    dpop_jti_expired_entry_may_be_reinserted, dpop_jti_insert_race_has_one_winner, dpop_jti_is_inserted_once,
};
pub use grants::{
    grant_expires, grant_is_found_while_live, grant_is_revoked_by_its_subject_only, grant_use_is_recorded,
    grants_are_listed_per_subject_newest_first,
};
pub use logout::{
    logout_session_expires, logout_session_is_recorded_once_with_the_later_expiry,
    logout_sessions_are_taken_once_per_session,
};
pub use pending::{
    pending_consent_stage_round_trips, pending_expires, pending_handles_are_independent, pending_is_taken_once,
    pending_pushed_stage_round_trips, pending_take_race_has_one_winner, pending_unknown_handle_is_none,
};
pub use refresh::{
    refresh_family_expires, refresh_family_is_created_once, refresh_family_is_found,
    refresh_reuse_of_any_old_token_is_detected, refresh_reuse_revokes_family, refresh_revocation_refuses_tokens,
    refresh_revoked_family_cannot_be_created, refresh_rotation_race_has_one_winner, refresh_rotation_replaces_current,
    refresh_unknown_token_is_unknown,
};

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
            device_grant_is_found_by_both_codes,
            device_user_code_is_unique_while_held,
            device_decision_is_taken_once,
            device_poll_slows_down_and_remembers_the_interval,
            device_approval_is_redeemed_once,
            device_redemption_race_has_one_winner,
            device_grant_expires,
            grants_are_listed_per_subject_newest_first,
            grant_use_is_recorded,
            grant_is_revoked_by_its_subject_only,
            grant_expires,
            logout_sessions_are_taken_once_per_session,
            logout_session_is_recorded_once_with_the_later_expiry,
            logout_session_expires,
            grant_is_found_while_live,
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
