//! The [`RegistrationStore`] host trait: where dynamically registered clients (RFC 7591) live.

use std::future::Future;
use std::time::SystemTime;

use crate::client::{Client, ClientId, SecretHash};
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
}
