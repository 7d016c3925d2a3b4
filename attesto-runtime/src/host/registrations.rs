//! The [`RegistrationStore`] host trait: where dynamically registered clients (RFC 7591) live.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::model::client::{Client, ClientId, SecretHash};
use crate::error::HostError;

/// A dynamically registered client as attesto hands it to the store.
///
/// It holds only hashes: the client secret and the registration access token are shown to the
/// client once and never stored in the clear.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientRegistration {
    /// The client, with [`Client::secret_hash`] set for confidential clients.
    pub client: Client,
    /// The accepted client metadata (RFC 7591 §2), as returned to the client.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The hash of the registration access token (RFC 7592 §3).
    pub registration_access_token_hash: SecretHash,
    /// `client_id_issued_at`.
    pub issued_at: SystemTime,
    /// `client_secret_expires_at`; `None` means the secret does not expire.
    pub secret_expires_at: Option<SystemTime>,
}

impl ClientRegistration {
    /// A registration record.
    pub fn new(
        client: Client,
        metadata: serde_json::Map<String, serde_json::Value>,
        registration_access_token_hash: SecretHash,
        issued_at: SystemTime,
    ) -> Self {
        Self { client, metadata, registration_access_token_hash, issued_at, secret_expires_at: None }
    }
}

/// A registration request that asks for a grant open registration does not give on its own:
/// what [`RegistrationStore::allow_client_credentials`] decides on.
#[derive(Debug)]
#[non_exhaustive]
pub struct GrantRequest<'a> {
    /// The `Bearer` token of the request's `Authorization` header: an initial access token at
    /// registration (RFC 7591 §3), `None` at an update (RFC 7592 §2.2), which is authenticated by
    /// the registration access token instead.
    pub initial_access_token: Option<&'a str>,
    /// The client being updated; `None` at registration.
    pub client_id: Option<&'a ClientId>,
    /// The client metadata as sent (RFC 7591 §2), e.g. a `software_id` to recognise.
    pub metadata: &'a serde_json::Map<String, serde_json::Value>,
}

/// Stores dynamically registered clients. Required when the `registration` flag is on.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::RegistrationStore`",
    label = "`registration` needs `impl attesto::RegistrationStore for {Self}`",
    note = "dynamic client registration stores clients through the host: implement `attesto::RegistrationStore`, or drop `registration`"
)]
pub trait RegistrationStore: Send + Sync {
    /// Stores a new registration.
    fn create_client(&self, registration: &ClientRegistration) -> impl Future<Output = Result<(), HostError>> + Send;
    /// Loads a registration by client id.
    fn load_registration(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<Option<ClientRegistration>, HostError>> + Send;
    /// Replaces a registration; `false` when there was none.
    fn update_client(&self, registration: &ClientRegistration) -> impl Future<Output = Result<bool, HostError>> + Send;
    /// Deletes a registration; `false` when there was none.
    fn delete_client(&self, client_id: &ClientId) -> impl Future<Output = Result<bool, HostError>> + Send;

    /// The host's registration policy (RFC 7591 §3): whether a registration request that
    /// presented `initial_access_token` (the `Bearer` token of its `Authorization` header, if any)
    /// may register a client. A `false` is answered `401 invalid_token`.
    ///
    /// The default is open registration: anyone may register, with or without a token, which is
    /// what MCP clients expect (they register themselves on first contact). A host that hands out
    /// initial access tokens out of band checks the token here, in constant time (keep its
    /// [`SecretHash`] and call [`SecretHash::verify`]):
    ///
    /// ```
    /// # use attesto_runtime::{HostError, SecretHash};
    /// # struct Host { initial_token: SecretHash }
    /// # impl Host {
    /// async fn authorize_registration(&self, initial_access_token: Option<&str>) -> Result<bool, HostError> {
    ///     Ok(initial_access_token.is_some_and(|token| self.initial_token.verify(token)))
    /// }
    /// # }
    /// ```
    fn authorize_registration(
        &self,
        initial_access_token: Option<&str>,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        let _ = initial_access_token;
        std::future::ready(Ok(true))
    }

    /// Whether this registration may hold the `client_credentials` grant (RFC 6749 §4.4): tokens
    /// that no user signed in for or consented to, issued to whoever holds the client's secret.
    ///
    /// The default is `false`: with open registration anyone can register, so anyone could get
    /// such tokens for the protected resource, with every scope the registration was granted
    /// (RFC 9700 §4.15). A refused request is answered `invalid_client_metadata`. A host that
    /// registers service clients this way opts in per registration, typically by the initial
    /// access token it handed out to that service:
    ///
    /// ```
    /// # use attesto_runtime::{GrantRequest, HostError, SecretHash};
    /// # struct Host { service_token: SecretHash }
    /// # impl Host {
    /// async fn allow_client_credentials(&self, request: &GrantRequest<'_>) -> Result<bool, HostError> {
    ///     Ok(request.initial_access_token.is_some_and(|token| self.service_token.verify(token)))
    /// }
    /// # }
    /// ```
    ///
    /// An update (RFC 7592) that keeps a grant the registration already holds is not asked again.
    fn allow_client_credentials(
        &self,
        request: &GrantRequest<'_>,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        let _ = request;
        std::future::ready(Ok(false))
    }

    /// Told when a registered client obtains a token, so that a store can forget registrations
    /// that never did (RFC 7591 §5: a server may expire registrations; open registration lets
    /// anyone create them). Called after every successful code redemption and client credentials
    /// grant of a registered client; the default does nothing. [`MemoryRegistrations`] keeps a
    /// registration past its unused lifetime once told. A failure is logged, never refuses the
    /// token.
    fn registration_used(&self, client_id: &ClientId) -> impl Future<Output = Result<(), HostError>> + Send {
        let _ = client_id;
        std::future::ready(Ok(()))
    }
}

impl<T: RegistrationStore + ?Sized> RegistrationStore for &T {
    fn create_client(&self, registration: &ClientRegistration) -> impl Future<Output = Result<(), HostError>> + Send {
        (**self).create_client(registration)
    }
    fn load_registration(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<Option<ClientRegistration>, HostError>> + Send {
        (**self).load_registration(client_id)
    }
    fn update_client(&self, registration: &ClientRegistration) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).update_client(registration)
    }
    fn delete_client(&self, client_id: &ClientId) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).delete_client(client_id)
    }
    fn authorize_registration(
        &self,
        initial_access_token: Option<&str>,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).authorize_registration(initial_access_token)
    }
    fn allow_client_credentials(
        &self,
        request: &GrantRequest<'_>,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).allow_client_credentials(request)
    }
    fn registration_used(&self, client_id: &ClientId) -> impl Future<Output = Result<(), HostError>> + Send {
        (**self).registration_used(client_id)
    }
}
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
