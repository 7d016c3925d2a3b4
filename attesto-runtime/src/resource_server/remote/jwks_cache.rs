//! The provider's keys as a remote guard sees them: its JWKS (RFC 7517 §5), fetched, cached by
//! `kid`, fetched again on an unknown `kid` (at most once per minimum interval, concurrent
//! requests sharing one fetch) and periodically.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use super::error::RemoteGuardError;
use super::fetchers::{Fetchers, JwksSource, fetchable_url};
use crate::error::HostError;
use crate::keys::Key;

/// The verification keys of the JWKS, by `kid`.
pub(super) type KeyMap = HashMap<String, Key>;

/// The provider's keys, fetched from its JWKS and refreshed.
#[derive(Debug)]
pub(super) struct RemoteKeys {
    /// The issuer, as configured: the metadata must name it.
    pub(super) issuer: String,
    fetchers: Fetchers,
    source: JwksSource,
    min_refresh_interval: Duration,
    /// The keys of the last JWKS fetched and usable; `None` before the first.
    keys: RwLock<Option<Arc<KeyMap>>>,
    log: Mutex<FetchLog>,
    /// Held by the one task fetching the JWKS: requests that need a fetch wait for it and use
    /// what it fetched, instead of starting their own.
    one_fetch: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
pub(super) struct FetchLog {
    /// When the last fetch, successful or not, finished.
    finished: Option<Instant>,
    /// When the last fetch caused by an unknown `kid` started.
    unknown_kid: Option<Instant>,
}

impl RemoteKeys {
    /// A cache with no keys yet, for the guard of `issuer`.
    pub(super) fn new(issuer: String, fetchers: Fetchers, source: JwksSource, min_refresh_interval: Duration) -> Self {
        Self {
            issuer,
            fetchers,
            source,
            min_refresh_interval,
            keys: RwLock::new(None),
            log: Mutex::default(),
            one_fetch: tokio::sync::Mutex::new(()),
        }
    }

    fn log(&self) -> MutexGuard<'_, FetchLog> {
        // A poisoned lock means a panic while holding it; the two instants are still valid.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn snapshot(&self) -> Option<Arc<KeyMap>> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the keys with those of a JWKS just fetched: a key it no longer has stops
    /// verifying now.
    pub(super) fn install(&self, keys: KeyMap) {
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(keys));
    }

    pub(super) fn finished_fetch(&self) {
        self.log().finished = Some(Instant::now());
    }

    /// The key whose `kid` is `kid`, fetching the JWKS (again) if the cache does not know it and
    /// no such fetch happened in the last minimum interval: the first request with a token is
    /// what discovers the provider and fetches its keys. An error while no key was ever fetched:
    /// no token can be checked.
    pub(super) async fn key(&self, kid: &str) -> Result<Option<Key>, HostError> {
        let arrived = Instant::now();
        if let Some(keys) = self.snapshot()
            && let Some(key) = keys.get(kid)
        {
            return Ok(Some(key.clone()));
        }
        self.refresh_for_unknown_kid(arrived).await;
        match self.snapshot() {
            Some(keys) => Ok(keys.get(kid).cloned()),
            None => Err(HostError::msg("the provider's keys could not be fetched yet")),
        }
    }

    /// Whether a fetch for an unknown `kid` started less than the minimum interval before `at`.
    fn cooling_down(&self, log: &FetchLog, at: Instant) -> bool {
        log.unknown_kid.is_some_and(|started| at.saturating_duration_since(started) < self.min_refresh_interval)
    }

    async fn refresh_for_unknown_kid(&self, arrived: Instant) {
        // Waits for a fetch under way, whose result may be just what this request needs.
        let _one_fetch = self.one_fetch.lock().await;
        {
            let mut log = self.log();
            // A fetch that finished after this request arrived saw what there is to see: its
            // result is this request's too. Within the minimum interval of the last fetch for an
            // unknown `kid`, the `kid` is unknown, full stop.
            if log.finished.is_some_and(|finished| finished >= arrived) || self.cooling_down(&log, arrived) {
                return;
            }
            log.unknown_kid = Some(Instant::now());
        }
        let first = self.snapshot().is_none();
        match self.fetch().await {
            Ok(keys) => {
                self.install(keys);
                // The first keys ever fetched are the provider's discovery, not a rotation: a
                // token of a key rotated just after may look for it at once. Failed attempts
                // keep counting, so that a provider that is down is asked once per interval.
                if first {
                    self.log().unknown_kid = None;
                }
            }
            Err(error) if self.snapshot().is_none() => {
                tracing::warn!(%error, "the provider's keys could not be fetched; tokens are answered 503 until they can be");
            }
            Err(error) => tracing::warn!(%error, "the JWKS could not be fetched again for an unknown `kid`"),
        }
        self.finished_fetch();
    }

    /// The periodic refresh: a failure keeps the keys there are.
    async fn refresh_periodically(&self) {
        let _one_fetch = self.one_fetch.lock().await;
        match self.fetch().await {
            Ok(keys) => self.install(keys),
            Err(error) => {
                tracing::warn!(%error, "the periodic JWKS refresh failed; the keys fetched before are kept");
            }
        }
        self.finished_fetch();
    }

    /// Fetches the JWKS, discovering its URL first if it is not known yet.
    pub(super) async fn fetch(&self) -> Result<KeyMap, RemoteGuardError> {
        let jwks_uri = match &self.source {
            JwksSource::Configured(url) => url.clone(),
            JwksSource::Discovered { metadata_url, jwks_uri } => match jwks_uri.get() {
                Some(url) => url.clone(),
                None => {
                    let url = self.discover(metadata_url).await?;
                    // Fetches are one at a time, so this is the first discovery; keep it.
                    let _ = jwks_uri.set(url.clone());
                    url
                }
            },
        };
        let jwks_error = |reason: String| RemoteGuardError::Jwks { url: jwks_uri.to_string(), reason };
        let body =
            self.fetchers.client(&jwks_uri).get(&jwks_uri).await.map_err(|error| jwks_error(error.to_string()))?;
        parse_jwks(&body).map_err(|reason| jwks_error(reason.to_owned()))
    }

    /// The JWKS URL of the provider's RFC 8414 metadata, after checking that the metadata is the
    /// configured issuer's (RFC 8414 §3.3: otherwise another server's keys would be trusted).
    async fn discover(&self, metadata_url: &Url) -> Result<Url, RemoteGuardError> {
        #[derive(serde::Deserialize)]
        struct Metadata {
            issuer: String,
            #[serde(default)]
            jwks_uri: Option<String>,
        }
        let url = metadata_url.to_string();
        let metadata: Metadata = self
            .fetchers
            .client(metadata_url)
            .get_json(metadata_url)
            .await
            .map_err(|error| RemoteGuardError::Metadata { url: url.clone(), reason: error.to_string() })?;
        if metadata.issuer != self.issuer {
            return Err(RemoteGuardError::IssuerMismatch {
                url,
                expected: self.issuer.clone(),
                found: metadata.issuer,
            });
        }
        let jwks_uri = metadata
            .jwks_uri
            .ok_or_else(|| RemoteGuardError::Metadata { url, reason: "it has no `jwks_uri`".to_owned() })?;
        fetchable_url("jwks_uri of the authorization server metadata", &jwks_uri)
    }
}

/// Fetches the JWKS every `period` for as long as the guard lives.
pub(super) fn spawn_periodic_refresh(keys: &Arc<RemoteKeys>, period: Duration) {
    let keys: Weak<RemoteKeys> = Arc::downgrade(keys);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            // The guard and every clone of it are gone: nothing to refresh for.
            let Some(keys) = keys.upgrade() else {
                return;
            };
            keys.refresh_periodically().await;
        }
    });
}

/// The usable verification keys of a JWKS document (RFC 7517 §5), by `kid`. A key that cannot
/// verify this provider's tokens is skipped, not fatal (a JWKS may hold encryption keys, or keys
/// of algorithms attesto does not verify); a JWKS with no usable key at all is an error.
pub(super) fn parse_jwks(body: &[u8]) -> Result<KeyMap, &'static str> {
    #[derive(serde::Deserialize)]
    struct Jwks {
        keys: Vec<Value>,
    }
    let jwks: Jwks =
        serde_json::from_slice(body).map_err(|_| "the document is not a JWKS (a JSON object with a `keys` array)")?;
    let mut keys = KeyMap::new();
    for jwk in &jwks.keys {
        match usable_key(jwk) {
            // The first key of a `kid` wins: a JWKS should not repeat one (RFC 7517 §4.5).
            Ok((kid, key)) => {
                keys.entry(kid).or_insert(key);
            }
            Err(reason) => tracing::debug!(reason, "a key of the JWKS is skipped"),
        }
    }
    if keys.is_empty() {
        return Err("it holds no usable signature verification key");
    }
    Ok(keys)
}

/// One JWK as a verification key, with its `kid`, or why it is skipped.
pub(super) fn usable_key(jwk: &Value) -> Result<(String, Key), &'static str> {
    let Value::Object(members) = jwk else {
        return Err("not a JSON object");
    };
    // Tokens name their key by `kid` (RFC 7515 §4.1.4): a key without one is never chosen.
    let kid = members.get("kid").and_then(Value::as_str).ok_or("no `kid`")?;
    if members.contains_key("d") {
        // A private key in a public document is the provider's mistake, and a serious one.
        tracing::warn!(kid, "the provider's JWKS publishes a private key; it is not used");
        return Err("a private key");
    }
    // RFC 7517 §4.2, §4.3: a key for encryption, or not for verifying, is not for tokens.
    match members.get("use") {
        None => {}
        Some(Value::String(usage)) if usage == "sig" => {}
        Some(_) => return Err("`use` is not `sig`"),
    }
    if let Some(ops) = members.get("key_ops") {
        let verifies = ops.as_array().is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("`key_ops` has no `verify`");
        }
    }
    let key = Key::from_jwk(&jwk.to_string()).map_err(|_| "a key type or algorithm attesto does not verify")?;
    Ok((kid.to_owned(), key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;

    fn public_jwk(alg: Algorithm) -> Value {
        Value::Object(Key::generate(alg).expect("key").public_jwk())
    }

    #[test]
    fn keys_that_cannot_verify_tokens_are_skipped() {
        let good = public_jwk(Algorithm::ES256);
        let mut no_kid = public_jwk(Algorithm::ES256);
        no_kid.as_object_mut().expect("object").remove("kid");
        let mut encryption = public_jwk(Algorithm::ES256);
        encryption["use"] = "enc".into();
        let mut wrap_only = public_jwk(Algorithm::ES256);
        wrap_only["key_ops"] = serde_json::json!(["wrapKey"]);
        let mut es384 = public_jwk(Algorithm::ES256);
        es384["alg"] = "ES384".into();
        let private = {
            let key = Key::generate(Algorithm::EdDSA).expect("key");
            let mut jwk = Value::Object(key.public_jwk());
            jwk["d"] = "AAAA".into();
            jwk
        };
        let symmetric = serde_json::json!({ "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" });
        let mut duplicate = public_jwk(Algorithm::EdDSA);
        duplicate["kid"] = good["kid"].clone();
        let jwks = serde_json::json!({
            "keys": [good, no_kid, encryption, wrap_only, es384, private, symmetric, duplicate, "not a key"]
        });
        let keys = parse_jwks(jwks.to_string().as_bytes()).expect("one usable key");
        assert_eq!(keys.len(), 1);
        let kid = good["kid"].as_str().expect("kid");
        assert_eq!(keys[kid].algorithm(), Algorithm::ES256, "the first key of a `kid` wins");
    }

    #[test]
    fn keys_of_every_algorithm_a_provider_signs_with_are_usable() {
        let algorithms = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];
        let jwks: Vec<Value> = algorithms.iter().map(|alg| public_jwk(*alg)).collect();
        let keys = parse_jwks(serde_json::json!({ "keys": jwks }).to_string().as_bytes()).expect("usable keys");
        assert_eq!(keys.len(), 4);
        for (jwk, alg) in jwks.iter().zip(algorithms) {
            let key = &keys[jwk["kid"].as_str().expect("kid")];
            // The JWK's `alg` tells PS256 from RS256: the key verifies that algorithm alone.
            assert_eq!((key.algorithm(), key.is_private()), (alg, false), "{jwk}");
        }
    }

    #[test]
    fn a_jwks_without_a_usable_key_is_an_error() {
        let only_encryption = {
            let mut jwk = public_jwk(Algorithm::ES256);
            jwk["use"] = "enc".into();
            serde_json::json!({ "keys": [jwk] })
        };
        assert_eq!(
            parse_jwks(only_encryption.to_string().as_bytes()).err(),
            Some("it holds no usable signature verification key")
        );
        assert_eq!(
            parse_jwks(b"{\"keys\": {}}").err(),
            Some("the document is not a JWKS (a JSON object with a `keys` array)")
        );
        assert_eq!(parse_jwks(b"<html>").err(), Some("the document is not a JWKS (a JSON object with a `keys` array)"));
    }
}
