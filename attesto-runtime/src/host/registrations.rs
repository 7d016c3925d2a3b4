//! The [`RegistrationStore`] host trait: where dynamically registered clients (RFC 7591) live.

use std::future::Future;
use std::time::SystemTime;

use crate::error::HostError;
use crate::model::client::{Client, ClientId, SecretHash};

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
    /// grant of a registered client; the default does nothing. [`MemoryRegistrations`](crate::MemoryRegistrations) keeps a
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
