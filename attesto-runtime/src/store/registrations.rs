//! [`MemoryRegistrations`]: dynamically registered clients (RFC 7591) in memory, bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::error::HostError;
use crate::host::registrations::{ClientRegistration, RegistrationStore};
use crate::model::client::ClientId;

/// The default of [`MemoryRegistrations::max_registrations`].
const DEFAULT_MAX_REGISTRATIONS: usize = 10_000;
/// The default of [`MemoryRegistrations::unused_lifetime`].
const DEFAULT_UNUSED_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Dynamically registered clients in memory, bounded: for one instance whose registrations may be
/// lost on restart (a development server, an example, a test). Several instances, or
/// registrations that survive a restart, need `SqliteRegistrations` or `PostgresRegistrations`.
///
/// Open registration lets anyone create clients, so what this store holds is bounded (RFC 7591
/// §5): at most [`max_registrations`](Self::max_registrations) (10 000) at once — past it a
/// registration is refused with `503 temporarily_unavailable` — and a registration that has not
/// obtained a token within [`unused_lifetime`](Self::unused_lifetime) (24 hours) is forgotten.
/// Cloning shares the registrations.
///
/// A host that serves registrations through it forwards every [`RegistrationStore`] method,
/// [`registration_used`](RegistrationStore::registration_used) included:
///
/// ```
/// use attesto_runtime::{ClientId, ClientRegistration, HostError, MemoryRegistrations, RegistrationStore};
///
/// struct Host { registrations: MemoryRegistrations }
///
/// impl RegistrationStore for Host {
///     async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
///         self.registrations.create_client(registration).await
///     }
///     async fn load_registration(&self, id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
///         self.registrations.load_registration(id).await
///     }
///     async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
///         self.registrations.update_client(registration).await
///     }
///     async fn delete_client(&self, id: &ClientId) -> Result<bool, HostError> {
///         self.registrations.delete_client(id).await
///     }
///     async fn registration_used(&self, id: &ClientId) -> Result<(), HostError> {
///         self.registrations.registration_used(id).await
///     }
/// }
/// ```
#[derive(Clone)]
pub struct MemoryRegistrations {
    registrations: Arc<Mutex<HashMap<ClientId, Registered>>>,
    max_registrations: usize,
    unused_lifetime: Duration,
}

/// A registration and, until it obtained a token, when it is forgotten.
struct Registered {
    registration: ClientRegistration,
    unused_until: Option<SystemTime>,
}

impl Registered {
    fn is_live(&self, now: SystemTime) -> bool {
        self.unused_until.is_none_or(|until| until > now)
    }
}

impl Default for MemoryRegistrations {
    fn default() -> Self {
        Self {
            registrations: Arc::default(),
            max_registrations: DEFAULT_MAX_REGISTRATIONS,
            unused_lifetime: DEFAULT_UNUSED_LIFETIME,
        }
    }
}

impl std::fmt::Debug for MemoryRegistrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRegistrations")
            .field("registrations", &self.len())
            .field("max_registrations", &self.max_registrations)
            .field("unused_lifetime", &self.unused_lifetime)
            .finish()
    }
}

impl MemoryRegistrations {
    /// An empty store with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the most registrations held at once (default 10 000; at least 1).
    #[must_use]
    pub fn max_registrations(mut self, registrations: usize) -> Self {
        self.max_registrations = registrations.max(1);
        self
    }

    /// Sets how long a registration that obtained no token is kept (default 24 hours).
    #[must_use]
    pub fn unused_lifetime(mut self, lifetime: Duration) -> Self {
        self.unused_lifetime = lifetime;
        self
    }

    /// How many registrations are held, forgotten ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no registration is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, Registered>> {
        // A poisoned lock means a panic while holding it; the map is still consistent.
        self.registrations.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl RegistrationStore for MemoryRegistrations {
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        let now = SystemTime::now();
        let mut registrations = self.lock();
        if registrations.len() >= self.max_registrations {
            // Only when full: a walk of the map is paid once per freed place at most.
            registrations.retain(|_, registered| registered.is_live(now));
        }
        if registrations.len() >= self.max_registrations {
            return Err(HostError::msg("the registration store is full; try again later"));
        }
        let unused_until = Some(registration.issued_at.max(now) + self.unused_lifetime);
        registrations.insert(
            registration.client.client_id.clone(),
            Registered { registration: registration.clone(), unused_until },
        );
        Ok(())
    }

    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        let now = SystemTime::now();
        let mut registrations = self.lock();
        match registrations.get(client_id) {
            Some(registered) if registered.is_live(now) => Ok(Some(registered.registration.clone())),
            Some(_) => {
                registrations.remove(client_id);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        let now = SystemTime::now();
        let mut registrations = self.lock();
        Ok(match registrations.get_mut(&registration.client.client_id) {
            Some(registered) if registered.is_live(now) => {
                registered.registration = registration.clone();
                true
            }
            _ => false,
        })
    }

    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        let now = SystemTime::now();
        Ok(self.lock().remove(client_id).is_some_and(|registered| registered.is_live(now)))
    }

    async fn registration_used(&self, client_id: &ClientId) -> Result<(), HostError> {
        if let Some(registered) = self.lock().get_mut(client_id) {
            registered.unused_until = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::client::Client;
    use crate::model::client::SecretHash;

    fn registration(id: &str, issued_at: SystemTime) -> ClientRegistration {
        ClientRegistration::new(Client::public(id), serde_json::Map::new(), SecretHash::of("token"), issued_at)
    }

    #[tokio::test]
    async fn registrations_are_capped_and_refused_when_full() {
        let store = MemoryRegistrations::new().max_registrations(2);
        let now = SystemTime::now();
        store.create_client(&registration("a", now)).await.expect("room");
        store.create_client(&registration("b", now)).await.expect("room");
        assert!(store.create_client(&registration("c", now)).await.is_err(), "full");
        assert!(store.delete_client(&ClientId::new("a")).await.expect("delete"));
        store.create_client(&registration("c", now)).await.expect("a deleted one frees its place");
        assert_eq!(store.len(), 2);
    }

    #[tokio::test]
    async fn a_registration_that_obtained_no_token_is_forgotten_and_frees_its_place() {
        let store = MemoryRegistrations::new().max_registrations(2).unused_lifetime(Duration::from_secs(60));
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        store.create_client(&registration("unused", SystemTime::now())).await.expect("room");
        store.create_client(&registration("used", SystemTime::now())).await.expect("room");
        store.registration_used(&ClientId::new("used")).await.expect("used");
        // Both now look an hour old: only the one that obtained a token stays.
        for registered in store.lock().values_mut() {
            registered.unused_until = registered.unused_until.map(|_| long_ago);
        }
        assert!(store.load_registration(&ClientId::new("unused")).await.expect("load").is_none());
        assert!(store.load_registration(&ClientId::new("used")).await.expect("load").is_some());
        store.create_client(&registration("new", SystemTime::now())).await.expect("the forgotten one's place");
        assert_eq!(store.len(), 2);
    }
}
