//! [`RegisteredClients`]: the table `attesto_registered_clients` (RFC 7591 registered clients) in
//! either database. Its four statements are spelled alike in both, so each text is written once,
//! here; so is the mapping between a [`ClientRegistration`] and a row.

use sqlx::decode::Decode;
use sqlx::encode::Encode;
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Executor, IntoArguments, Pool, Row as _, Type};

use super::{Dialect, from_json, from_unix_secs, hash_bytes, to_json, unix_secs};
use crate::error::HostError;
use crate::host::registrations::ClientRegistration;
use crate::keys::Algorithm;
use crate::model::client::{
    Client, ClientId, ClientSigningAlgorithm, ClientSource, GrantType, SecretHash, TokenEndpointAuthMethod,
};
use crate::model::scope::Scopes;

/// The registered clients in the database of a pool whose migrations have run.
pub(super) struct RegisteredClients<DB: Database> {
    pool: Pool<DB>,
}

// Not derived: `#[derive(Clone)]` would ask `DB: Clone` of the database marker type.
impl<DB: Database> Clone for RegisteredClients<DB> {
    fn clone(&self) -> Self {
        Self { pool: self.pool.clone() }
    }
}

impl<DB: Database> RegisteredClients<DB> {
    pub(super) fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

impl<DB> RegisteredClients<DB>
where
    DB: Dialect,
    // What these statements need of sqlx for `DB` (see the module docs of `sql` for why they are
    // spelled out): a pool that executes them, and the Rust types of the columns, bound and read
    // by name.
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'n> &'n str: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<Vec<u8>>: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
{
    /// Stores a new registration; an error if its client id exists (the primary key), never an
    /// overwrite.
    pub(super) async fn create(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        let row = RegistrationRow::from_registration(registration)?;
        let insert = sqlx::query(
            "INSERT INTO attesto_registered_clients (client_id, client_name, redirect_uris, is_public, grant_types,
                 scopes, token_endpoint_auth_method, secret_hash, jwks, dpop_bound_access_tokens, metadata,
                 registration_access_token_hash, issued_at, secret_expires_at, authorization_signed_response_alg,
                 introspection_signed_response_alg)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        );
        Self::bind_row(insert, row).execute(&self.pool).await?;
        Ok(())
    }

    /// Loads a registration by client id.
    pub(super) async fn load(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        let row = sqlx::query(
            "SELECT client_id, client_name, redirect_uris, is_public, grant_types, scopes,
                 token_endpoint_auth_method, secret_hash, jwks, dpop_bound_access_tokens, metadata,
                 registration_access_token_hash, issued_at, secret_expires_at, authorization_signed_response_alg,
                 introspection_signed_response_alg
             FROM attesto_registered_clients WHERE client_id = $1",
        )
        .bind(client_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Self::read_row(&row)?.into_registration()).transpose()
    }

    /// Replaces a registration; `false` when there was none (it is not created).
    pub(super) async fn update(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        let row = RegistrationRow::from_registration(registration)?;
        let update = sqlx::query(
            "UPDATE attesto_registered_clients
             SET client_name = $2, redirect_uris = $3, is_public = $4, grant_types = $5, scopes = $6,
                 token_endpoint_auth_method = $7, secret_hash = $8, jwks = $9, dpop_bound_access_tokens = $10,
                 metadata = $11, registration_access_token_hash = $12, issued_at = $13, secret_expires_at = $14,
                 authorization_signed_response_alg = $15, introspection_signed_response_alg = $16
             WHERE client_id = $1",
        );
        let result = Self::bind_row(update, row).execute(&self.pool).await?;
        Ok(DB::rows_affected(&result) == 1)
    }

    /// Deletes a registration; `false` when there was none.
    pub(super) async fn delete(&self, client_id: &ClientId) -> Result<bool, HostError> {
        let result = sqlx::query("DELETE FROM attesto_registered_clients WHERE client_id = $1")
            .bind(client_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&result) == 1)
    }

    /// Binds the columns in the order of [`RegistrationRow`], as `$1` to `$16`: the order of the
    /// `INSERT`'s column list and of the `UPDATE`'s numbers.
    fn bind_row(query: Query<'static, DB, DB::Arguments>, row: RegistrationRow) -> Query<'static, DB, DB::Arguments> {
        query
            .bind(row.client_id)
            .bind(row.client_name)
            .bind(row.redirect_uris)
            .bind(row.is_public)
            .bind(row.grant_types)
            .bind(row.scopes)
            .bind(row.token_endpoint_auth_method)
            .bind(row.secret_hash)
            .bind(row.jwks)
            .bind(row.dpop_bound_access_tokens)
            .bind(row.metadata)
            .bind(row.registration_access_token_hash)
            .bind(row.issued_at)
            .bind(row.secret_expires_at)
            .bind(row.authorization_signed_response_alg)
            .bind(row.introspection_signed_response_alg)
    }

    /// Reads the columns by name, so that a row does not depend on the order of a `SELECT` list.
    fn read_row(row: &DB::Row) -> Result<RegistrationRow, sqlx::Error> {
        Ok(RegistrationRow {
            client_id: row.try_get("client_id")?,
            client_name: row.try_get("client_name")?,
            redirect_uris: row.try_get("redirect_uris")?,
            is_public: row.try_get("is_public")?,
            grant_types: row.try_get("grant_types")?,
            scopes: row.try_get("scopes")?,
            token_endpoint_auth_method: row.try_get("token_endpoint_auth_method")?,
            secret_hash: row.try_get("secret_hash")?,
            jwks: row.try_get("jwks")?,
            dpop_bound_access_tokens: row.try_get("dpop_bound_access_tokens")?,
            metadata: row.try_get("metadata")?,
            registration_access_token_hash: row.try_get("registration_access_token_hash")?,
            issued_at: row.try_get("issued_at")?,
            secret_expires_at: row.try_get("secret_expires_at")?,
            authorization_signed_response_alg: row.try_get("authorization_signed_response_alg")?,
            introspection_signed_response_alg: row.try_get("introspection_signed_response_alg")?,
        })
    }
}

/// `metadata` with the members of `client` that the table has no column for, so that they are
/// read back from the metadata: `jwks_uri`, `token_endpoint_auth_signing_alg`,
/// `request_object_signing_alg`, `require_signed_request_object`, `userinfo_signed_response_alg`,
/// `post_logout_redirect_uris`, `subject_type`, `backchannel_logout_uri` and
/// `backchannel_logout_session_required` (what `endpoints/registration.rs` writes already, and
/// what a host that builds its own registration may have left out).
fn with_unstored_members(
    metadata: &serde_json::Map<String, serde_json::Value>,
    client: &Client,
) -> serde_json::Map<String, serde_json::Value> {
    let mut metadata = metadata.clone();
    // Each cleared when unset, so that a stale value in the metadata cannot outlive the field.
    let mut set = |name: &str, value: Option<serde_json::Value>| match value {
        Some(value) => metadata.insert(name.to_owned(), value),
        None => metadata.remove(name),
    };
    set("userinfo_signed_response_alg", client.userinfo_signed_response_alg.map(|alg| alg.as_str().into()));
    set("request_object_signing_alg", client.request_object_signing_alg.map(|alg| alg.as_str().into()));
    set("require_signed_request_object", client.require_signed_request_object.then_some(true.into()));
    set("subject_type", client.sector_identifier.as_ref().map(|_| "pairwise".into()));
    set(
        "post_logout_redirect_uris",
        (!client.post_logout_redirect_uris.is_empty()).then(|| client.post_logout_redirect_uris.clone().into()),
    );
    // OpenID Connect Back-Channel Logout 1.0 §2.2: the flag is kept with the URI only.
    set("backchannel_logout_uri", client.backchannel_logout_uri.clone().map(Into::into));
    set(
        "backchannel_logout_session_required",
        client.backchannel_logout_uri.as_ref().map(|_| client.backchannel_logout_session_required.into()),
    );
    if let Some(jwks_uri) = &client.jwks_uri {
        metadata.insert("jwks_uri".to_owned(), jwks_uri.clone().into());
    }
    if let Some(alg) = client.token_endpoint_auth_signing_alg {
        metadata.insert("token_endpoint_auth_signing_alg".to_owned(), alg.as_str().into());
    }
    metadata
}

/// The sector identifier of a registered client of the `pairwise` subject type, from its
/// metadata as `endpoints/registration.rs` checked it (OpenID Connect Core §8.1): the host of its
/// `sector_identifier_uri`, or the one host of its redirect URIs; `None` for `public`. A pairwise
/// client whose sector cannot be found again is an error, never a `public` one: that would hand
/// it the users' own identifiers.
fn sector_of(
    metadata: &serde_json::Map<String, serde_json::Value>,
    redirect_uris: &[String],
) -> Result<Option<String>, HostError> {
    if metadata.get("subject_type").and_then(serde_json::Value::as_str) != Some("pairwise") {
        return Ok(None);
    }
    let sector = match metadata.get("sector_identifier_uri").and_then(serde_json::Value::as_str) {
        Some(uri) => url::Url::parse(uri).ok().and_then(|url| url.host_str().map(str::to_owned)),
        None => crate::protocol::pairwise::sector_of_redirect_uris(redirect_uris).ok(),
    };
    sector.map(Some).ok_or_else(|| HostError::msg("a pairwise registration whose sector cannot be found"))
}

/// A [`ClientRegistration`] as the columns of `attesto_registered_clients`, in their order.
struct RegistrationRow {
    client_id: String,
    client_name: Option<String>,
    redirect_uris: String,
    is_public: bool,
    grant_types: String,
    scopes: String,
    token_endpoint_auth_method: String,
    secret_hash: Option<Vec<u8>>,
    jwks: Option<String>,
    dpop_bound_access_tokens: bool,
    metadata: String,
    registration_access_token_hash: Vec<u8>,
    issued_at: i64,
    secret_expires_at: Option<i64>,
    authorization_signed_response_alg: Option<String>,
    introspection_signed_response_alg: Option<String>,
}

impl RegistrationRow {
    fn from_registration(registration: &ClientRegistration) -> Result<Self, HostError> {
        // Destructured, so that a field added to `Client` or `ClientRegistration` fails to compile
        // here until it has a column.
        let ClientRegistration { client, metadata, registration_access_token_hash, issued_at, secret_expires_at } =
            registration;
        let Client {
            client_id,
            client_name,
            redirect_uris,
            // Kept in the stored metadata (`with_unstored_members`), as the members below.
            post_logout_redirect_uris: _,
            is_public,
            grant_types,
            scopes,
            token_endpoint_auth_method,
            secret_hash,
            jwks,
            // Kept in the stored metadata, which returns them to the client as RFC 7591 §3.2.1
            // asks, and read back from it (`with_unstored_members`).
            jwks_uri: _,
            token_endpoint_auth_signing_alg: _,
            dpop_bound_access_tokens,
            authorization_signed_response_alg,
            introspection_signed_response_alg,
            // Kept in the stored metadata too: no column of their own.
            userinfo_signed_response_alg: _,
            request_object_signing_alg: _,
            require_signed_request_object: _,
            backchannel_logout_uri: _,
            backchannel_logout_session_required: _,
            // Kept as `subject_type` and `sector_identifier_uri` in the stored metadata, and
            // derived from them again (`sector_of`).
            sector_identifier: _,
            // Not stored: whether the host vouches for a registered client is the host's decision
            // when it loads the registration (its `RegistrationStore::load_registration` sets it),
            // never something a registration could have written.
            trusted: _,
            // Set by the lookup, never stored.
            source: _,
        } = client;
        Ok(Self {
            client_id: client_id.as_str().to_owned(),
            client_name: client_name.clone(),
            redirect_uris: to_json(redirect_uris)?,
            is_public: *is_public,
            grant_types: to_json(grant_types)?,
            scopes: scopes.to_string(),
            token_endpoint_auth_method: token_endpoint_auth_method.as_str().to_owned(),
            secret_hash: secret_hash.as_ref().map(|hash| hash.as_bytes().to_vec()),
            jwks: jwks.as_ref().map(to_json).transpose()?,
            dpop_bound_access_tokens: *dpop_bound_access_tokens,
            metadata: to_json(&with_unstored_members(metadata, client))?,
            registration_access_token_hash: registration_access_token_hash.as_bytes().to_vec(),
            issued_at: unix_secs(*issued_at),
            secret_expires_at: secret_expires_at.map(unix_secs),
            authorization_signed_response_alg: authorization_signed_response_alg.map(|alg| alg.as_str().to_owned()),
            introspection_signed_response_alg: introspection_signed_response_alg.map(|alg| alg.as_str().to_owned()),
        })
    }

    fn into_registration(self) -> Result<ClientRegistration, HostError> {
        let token_endpoint_auth_method: TokenEndpointAuthMethod =
            serde_json::from_value(serde_json::Value::String(self.token_endpoint_auth_method))?;
        let grant_types: Vec<GrantType> = from_json(&self.grant_types)?;
        let metadata: serde_json::Map<String, serde_json::Value> = from_json(&self.metadata)?;
        let jwks_uri = metadata.get("jwks_uri").and_then(serde_json::Value::as_str).map(str::to_owned);
        let token_endpoint_auth_signing_alg = metadata
            .get("token_endpoint_auth_signing_alg")
            .and_then(serde_json::Value::as_str)
            .and_then(ClientSigningAlgorithm::parse);
        let request_object_signing_alg = metadata
            .get("request_object_signing_alg")
            .and_then(serde_json::Value::as_str)
            .and_then(ClientSigningAlgorithm::parse);
        let require_signed_request_object =
            metadata.get("require_signed_request_object").and_then(serde_json::Value::as_bool).unwrap_or(false);
        let userinfo_signed_response_alg =
            metadata.get("userinfo_signed_response_alg").and_then(serde_json::Value::as_str).and_then(Algorithm::parse);
        let redirect_uris: Vec<String> = from_json(&self.redirect_uris)?;
        let sector_identifier = sector_of(&metadata, &redirect_uris)?;
        let post_logout_redirect_uris = metadata
            .get("post_logout_redirect_uris")
            .and_then(serde_json::Value::as_array)
            .map(|uris| uris.iter().filter_map(serde_json::Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let backchannel_logout_uri =
            metadata.get("backchannel_logout_uri").and_then(serde_json::Value::as_str).map(str::to_owned);
        let backchannel_logout_session_required =
            metadata.get("backchannel_logout_session_required").and_then(serde_json::Value::as_bool).unwrap_or(false);
        let client = Client {
            client_id: ClientId::new(self.client_id),
            client_name: self.client_name,
            redirect_uris,
            post_logout_redirect_uris,
            is_public: self.is_public,
            grant_types,
            scopes: Scopes::parse(&self.scopes)?,
            token_endpoint_auth_method,
            secret_hash: self.secret_hash.as_deref().map(hash_bytes).transpose()?.map(SecretHash::from_bytes),
            jwks: self.jwks.as_deref().map(from_json).transpose()?,
            jwks_uri,
            token_endpoint_auth_signing_alg,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            authorization_signed_response_alg: algorithm(self.authorization_signed_response_alg.as_deref())?,
            introspection_signed_response_alg: algorithm(self.introspection_signed_response_alg.as_deref())?,
            userinfo_signed_response_alg,
            request_object_signing_alg,
            require_signed_request_object,
            sector_identifier,
            backchannel_logout_uri,
            backchannel_logout_session_required,
            trusted: false,
            source: ClientSource::SelfAsserted,
        };
        Ok(ClientRegistration {
            client,
            metadata,
            registration_access_token_hash: SecretHash::from_bytes(hash_bytes(&self.registration_access_token_hash)?),
            issued_at: from_unix_secs(self.issued_at)?,
            secret_expires_at: self.secret_expires_at.map(from_unix_secs).transpose()?,
        })
    }
}

/// An algorithm column read back: `NULL` is none, and a value attesto did not write is an error
/// rather than a response signed some other way.
fn algorithm(value: Option<&str>) -> Result<Option<Algorithm>, HostError> {
    value
        .map(|alg| Algorithm::parse(alg).ok_or_else(|| HostError::msg(format!("unknown signing algorithm `{alg}`"))))
        .transpose()
}
