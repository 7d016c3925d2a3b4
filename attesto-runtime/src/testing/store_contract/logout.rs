//! Back-channel logout records: one per user, session and client, taken once per session,
//! expired.

use std::sync::Arc;

use super::fixtures::{FAMILY_LIFETIME, SECOND, fresh_id, ok, whole_seconds_now};
use crate::model::client::ClientId;
use crate::store::{LogoutSession, Store};

/// Ending a session takes its records, all of them, once: every client of the session, none of
/// another session of the same user, none of another user; a second take finds none. Records
/// made without a session identifier are the subject's alone, and ended by a take without one.
pub async fn logout_sessions_are_taken_once_per_session<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let until = now + FAMILY_LIFETIME;
    let subject = fresh_id("user");
    let session = fresh_id("session");
    let other_session = fresh_id("session");
    let record = |sid: Option<&str>, client: &str| {
        LogoutSession::new(subject.clone(), sid.map(str::to_owned), ClientId::new(client), until)
    };
    let mine = [record(Some(&session), "client-a"), record(Some(&session), "client-b")];
    for record in [&mine[1], &mine[0]] {
        ok(store.put_logout_session(record).await, "put_logout_session");
    }
    let other = record(Some(&other_session), "client-a");
    ok(store.put_logout_session(&other).await, "put_logout_session");
    let without_sid = record(None, "client-c");
    ok(store.put_logout_session(&without_sid).await, "put_logout_session");
    let stranger = LogoutSession::new(fresh_id("user"), Some(session.clone()), ClientId::new("client-a"), until);
    ok(store.put_logout_session(&stranger).await, "put_logout_session");

    let taken = ok(store.take_logout_sessions(&subject, Some(&session), now).await, "take_logout_sessions");
    assert_eq!(taken, mine.to_vec(), "the session's records, each client once, ordered by client id");
    let again = ok(store.take_logout_sessions(&subject, Some(&session), now).await, "take_logout_sessions");
    assert!(again.is_empty(), "a session's records are taken once");
    let taken = ok(store.take_logout_sessions(&subject, None, now).await, "take_logout_sessions");
    assert_eq!(taken, vec![without_sid], "the records without a session identifier are the subject's");
    let taken = ok(store.take_logout_sessions(&subject, Some(&other_session), now).await, "take_logout_sessions");
    assert_eq!(taken, vec![other], "another session of the same user keeps its records");
    let taken = ok(store.take_logout_sessions(&stranger.subject, Some(&session), now).await, "take_logout_sessions");
    assert_eq!(taken, vec![stranger], "another user's session of the same id keeps its records");
}

/// Recording a client again in the same session keeps one record, with the later expiry.
pub async fn logout_session_is_recorded_once_with_the_later_expiry<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let subject = fresh_id("user");
    let session = fresh_id("session");
    let at = |until| LogoutSession::new(subject.clone(), Some(session.clone()), ClientId::new("client"), until);
    let later = at(now + FAMILY_LIFETIME);
    ok(store.put_logout_session(&later).await, "put_logout_session");
    ok(store.put_logout_session(&at(now + 10 * SECOND)).await, "put_logout_session");
    let taken = ok(store.take_logout_sessions(&subject, Some(&session), now).await, "take_logout_sessions");
    assert_eq!(taken, vec![later.clone()], "one record, whose expiry an earlier one does not shorten");

    let earlier = at(now + 10 * SECOND);
    ok(store.put_logout_session(&earlier).await, "put_logout_session");
    ok(store.put_logout_session(&later).await, "put_logout_session");
    let taken = ok(store.take_logout_sessions(&subject, Some(&session), now).await, "take_logout_sessions");
    assert_eq!(taken, vec![later], "one record, whose expiry a later one extends");
}

/// A record past its expiry is not returned.
pub async fn logout_session_expires<S: Store>(store: Arc<S>) {
    let now = whole_seconds_now();
    let subject = fresh_id("user");
    let session = fresh_id("session");
    let record = LogoutSession::new(subject.clone(), Some(session.clone()), ClientId::new("client"), now + SECOND);
    ok(store.put_logout_session(&record).await, "put_logout_session");
    let later = now + 2 * SECOND;
    let taken = ok(store.take_logout_sessions(&subject, Some(&session), later).await, "take_logout_sessions");
    assert!(taken.is_empty(), "an expired record is not returned");
}
