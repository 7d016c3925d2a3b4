//! The [`ClientStore`] host trait: how attesto reads the client table the host already has.

use std::future::Future;

use crate::error::HostError;
use crate::model::client::Client;

/// How attesto reads the host's clients. Required: every provider implements it, if only with
/// an empty `impl`.
///
/// This is how a host points attesto at the client table it already has: no row migration.
/// A host with no clients of its own — every client registers itself (`registration`) or is
/// identified by a client ID metadata document — writes `impl ClientStore for Auth {}`: the
/// default [`load_client`](Self::load_client) finds none.
///
/// A client that authenticates with `private_key_jwt` (RFC 7523) is returned with its public
/// keys, inline or at a `jwks_uri`: [`Client::private_key_jwt`]. attesto verifies its
/// assertions itself, and refuses a secret presented for it whatever
/// [`verify_client_secret`](Self::verify_client_secret) answers.
///
/// ```
/// use attesto_runtime::{Client, ClientStore, HostError, SecretHash};
///
/// #[derive(Clone)]
/// struct Host;
///
/// impl ClientStore for Host {
///     async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
///         // SELECT … FROM oauth_clients WHERE id = $1
///         Ok((client_id == "cli").then(|| Client::confidential("cli", SecretHash::of("secret"))))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::ClientStore`",
    label = "a provider needs `impl attesto::ClientStore for {Self}`",
    note = "attesto reads clients from the host: implement `load_client` against your client table, or write `impl attesto::ClientStore for {Self} {{}}` if all clients register themselves"
)]
pub trait ClientStore: Send + Sync {
    /// Loads a client by id; `Ok(None)` when there is none.
    ///
    /// The default finds none: the host has no clients of its own, and every client comes from
    /// registration or a client ID metadata document, which attesto looks up after this.
    fn load_client(&self, client_id: &str) -> impl Future<Output = Result<Option<Client>, HostError>> + Send {
        let _ = client_id;
        std::future::ready(Ok(None))
    }

    /// Checks a presented secret for a client.
    ///
    /// The default compares the SHA-256 of `secret` with [`Client::secret_hash`] in constant time.
    /// attesto calls this for unknown client ids too, with a decoy client, so that an unknown
    /// client and a wrong secret cost the same: an override must do its full work for every call.
    fn verify_client_secret(
        &self,
        client: &Client,
        secret: &str,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        let verified = client.secret_hash.as_ref().is_some_and(|hash| hash.verify(secret));
        std::future::ready(Ok(verified))
    }
}

impl<T: ClientStore + ?Sized> ClientStore for &T {
    fn load_client(&self, client_id: &str) -> impl Future<Output = Result<Option<Client>, HostError>> + Send {
        (**self).load_client(client_id)
    }
    fn verify_client_secret(
        &self,
        client: &Client,
        secret: &str,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).verify_client_secret(client, secret)
    }
}
