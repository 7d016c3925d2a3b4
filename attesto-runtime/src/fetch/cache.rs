//! The cache of fetched documents by URL: client ID metadata documents (`client_metadata.rs`)
//! and `private_key_jwt` clients' JWK Sets (`client_jwks.rs`) share it.
//!
//! - **Bounded**: at most `max_entries` URLs; a full cache first drops what has expired, then
//!   the entry closest to expiry.
//! - **One fetch per URL at a time**: concurrent lookups of one URL share one fetch (a burst of
//!   requests for one client costs one fetch).
//! - **Failures are not kept**: the next lookup fetches again (client ID metadata documents
//!   -00 §4.4 asks it; a client that fixes its JWKS is served at once too).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// A good document, and when it was fetched and stops being used.
#[derive(Debug, Clone)]
struct Cached<T> {
    value: T,
    fetched_at: Instant,
    expires_at: Instant,
    /// Fetched again before its time by [`DocumentCache::refetch`].
    refetched: bool,
}

/// The outcome of one fetch, shared by the lookups that waited for it.
type Slot<T, E> = Arc<OnceCell<Result<Cached<T>, E>>>;

/// Documents by URL; see the module documentation.
#[derive(Debug)]
pub(crate) struct DocumentCache<T, E> {
    entries: Mutex<HashMap<String, Slot<T, E>>>,
    max_entries: usize,
}

impl<T: Clone, E: Clone> DocumentCache<T, E> {
    /// An empty cache of at most `max_entries` documents (at least one).
    pub(crate) fn new(max_entries: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), max_entries: max_entries.max(1) }
    }

    /// The document at `url`, from the cache or fetched by `fetch`, which gives the document and
    /// how long to keep it. A cached document found expired is fetched once more, and that
    /// fetch's outcome is used even if it expired meanwhile.
    pub(crate) async fn get_or_fetch<F, Fut>(&self, url: &str, fetch: F) -> Result<T, E>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(T, Duration), E>>,
    {
        self.get_or_fetch_marked(url, fetch, false).await
    }

    /// Fetches the document of `url` again before its time (a JWK Set without the `kid` an
    /// assertion names: the client may have rotated its key), unless it was fetched again this
    /// way less than `min_interval` ago: `None` then. The first fetch of a document does not
    /// count, so a key rotated just after it is found at once; a flood of made-up `kid`s costs
    /// one fetch per interval. A fetch in flight is waited for instead.
    pub(crate) async fn refetch<F, Fut>(&self, url: &str, min_interval: Duration, fetch: F) -> Option<Result<T, E>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(T, Duration), E>>,
    {
        {
            let mut entries = self.lock();
            let cooling_down = entries.get(url).and_then(|slot| slot.get()).is_some_and(|outcome| {
                outcome.as_ref().is_ok_and(|cached| cached.refetched && cached.fetched_at.elapsed() < min_interval)
            });
            if cooling_down {
                return None;
            }
            // Only a finished fetch is dropped: one in flight is as fresh as any.
            if entries.get(url).is_some_and(|slot| slot.get().is_some()) {
                entries.remove(url);
            }
        }
        Some(self.get_or_fetch_marked(url, fetch, true).await)
    }

    async fn get_or_fetch_marked<F, Fut>(&self, url: &str, fetch: F, refetched: bool) -> Result<T, E>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(T, Duration), E>>,
    {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let slot = self.slot(url);
            let outcome = slot
                .get_or_init(|| async {
                    let (value, ttl) = fetch().await?;
                    let fetched_at = Instant::now();
                    Ok(Cached { value, fetched_at, expires_at: fetched_at + ttl, refetched })
                })
                .await;
            match outcome {
                Ok(cached) if cached.expires_at > Instant::now() || attempts > 1 => return Ok(cached.value.clone()),
                Ok(_) => self.forget(url, &slot),
                Err(error) => {
                    // Not kept: the next lookup fetches again.
                    self.forget(url, &slot);
                    return Err(error.clone());
                }
            }
        }
    }

    /// Whether a good document of `url` is in the cache, expired or not.
    pub(crate) fn has(&self, url: &str) -> bool {
        let entries = self.lock();
        entries.get(url).and_then(|slot| slot.get()).is_some_and(Result::is_ok)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot<T, E>>> {
        // A poisoned lock means a panic while holding it; the map is still consistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The slot of `url`: the cached document, the fetch in flight, or a new empty slot (making
    /// room for it when the cache is full).
    fn slot(&self, url: &str) -> Slot<T, E> {
        let mut entries = self.lock();
        if let Some(slot) = entries.get(url) {
            return Arc::clone(slot);
        }
        if entries.len() >= self.max_entries {
            let now = Instant::now();
            entries
                .retain(|_, slot| slot.get().is_none_or(|outcome| outcome.as_ref().is_ok_and(|c| c.expires_at > now)));
        }
        if entries.len() >= self.max_entries {
            // The document closest to expiry goes; a fetch in flight counts as expiring now (its
            // waiters hold the slot and still get its outcome).
            let expiry = |slot: &Slot<T, E>| slot.get().and_then(|outcome| outcome.as_ref().ok()).map(|c| c.expires_at);
            let victim = entries.iter().min_by_key(|(_, slot)| expiry(slot)).map(|(url, _)| url.clone());
            if let Some(victim) = victim {
                entries.remove(&victim);
            }
        }
        let slot = Slot::default();
        entries.insert(url.to_owned(), Arc::clone(&slot));
        slot
    }

    /// Drops `slot`, unless another lookup has replaced it already.
    fn forget(&self, url: &str, slot: &Slot<T, E>) {
        let mut entries = self.lock();
        if entries.get(url).is_some_and(|current| Arc::ptr_eq(current, slot)) {
            entries.remove(url);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn documents_are_kept_failures_are_not_and_the_cache_is_bounded() {
        let cache: DocumentCache<u32, &'static str> = DocumentCache::new(2);
        let fetches = AtomicUsize::new(0);
        let fetch = |value: u32| {
            let fetches = &fetches;
            move || async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                Ok((value, Duration::from_secs(60)))
            }
        };
        assert_eq!(cache.get_or_fetch("a", fetch(1)).await, Ok(1));
        assert_eq!(cache.get_or_fetch("a", fetch(2)).await, Ok(1), "kept");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(cache.get_or_fetch("b", || async { Err("down") }).await, Err("down"));
        assert!(!cache.has("b"), "a failure is not kept");
        assert_eq!(cache.get_or_fetch("b", fetch(3)).await, Ok(3));
        assert_eq!(cache.get_or_fetch("c", fetch(4)).await, Ok(4));
        assert_eq!(cache.lock().len(), 2, "bounded");
        let interval = Duration::from_secs(60);
        assert_eq!(cache.refetch("c", interval, fetch(5)).await, Some(Ok(5)), "the first refetch is not held back");
        assert_eq!(cache.refetch("c", interval, fetch(6)).await, None, "one refetch per interval");
        assert_eq!(cache.get_or_fetch("c", fetch(7)).await, Ok(5));
        assert_eq!(cache.refetch("c", Duration::ZERO, fetch(8)).await, Some(Ok(8)), "the interval has passed");
    }
}
