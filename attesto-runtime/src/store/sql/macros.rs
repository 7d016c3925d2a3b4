//! How the four public types reach the shared code: each public SQL store and registered-client
//! table is a plain type around a generic one ([`StateTables`](super::state::StateTables),
//! [`RegisteredClients`](super::registrations::RegisteredClients)), and these macros write the
//! forwarding once for both databases. Declared first in `sql`, so that `sqlite.rs` and
//! `postgres.rs` see them.

/// Implements [`Store`](crate::store::Store) for a public SQL store by forwarding every method to
/// its field `state`, a [`StateTables`](super::state::StateTables) of its database, and `Debug`,
/// which names the type and nothing of its pool. A macro, not a generic impl: see the module docs
/// of `sql`. The anonymous `const` scopes the `use`s to the expansion.
macro_rules! impl_store {
    ($store:ident) => {
        const _: () = {
            use std::time::SystemTime;

            use $crate::error::HostError;
            use $crate::store::{
                AuthorizationCode, CodeIssue, CodeRedemption, DeviceDecision, DeviceGrant, DevicePoll, Grant,
                LogoutSession, PendingAuthorization, RefreshFamily, RefreshLookup, Rotation, Store, TokenHash,
            };

            impl std::fmt::Debug for $store {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.debug_struct(stringify!($store)).finish_non_exhaustive()
                }
            }

            impl Store for $store {
                async fn put_pending(
                    &self,
                    handle: &TokenHash,
                    pending: &PendingAuthorization,
                ) -> Result<(), HostError> {
                    self.state.put_pending(handle, pending).await
                }

                async fn take_pending(
                    &self,
                    handle: &TokenHash,
                    now: SystemTime,
                ) -> Result<Option<PendingAuthorization>, HostError> {
                    self.state.take_pending(handle, now).await
                }

                async fn put_code(&self, code: &TokenHash, grant: &AuthorizationCode) -> Result<(), HostError> {
                    self.state.put_code(code, grant).await
                }

                async fn find_code(
                    &self,
                    code: &TokenHash,
                    now: SystemTime,
                ) -> Result<Option<AuthorizationCode>, HostError> {
                    self.state.find_code(code, now).await
                }

                async fn redeem_code(
                    &self,
                    code: &TokenHash,
                    issue: &CodeIssue,
                    now: SystemTime,
                ) -> Result<CodeRedemption, HostError> {
                    self.state.redeem_code(code, issue, now).await
                }

                async fn create_refresh_family(
                    &self,
                    family: &RefreshFamily,
                    token: &TokenHash,
                ) -> Result<bool, HostError> {
                    self.state.create_refresh_family(family, token).await
                }

                async fn find_refresh(&self, token: &TokenHash, now: SystemTime) -> Result<RefreshLookup, HostError> {
                    self.state.find_refresh(token, now).await
                }

                async fn rotate_refresh(
                    &self,
                    presented: &TokenHash,
                    next: &TokenHash,
                    now: SystemTime,
                ) -> Result<Rotation, HostError> {
                    self.state.rotate_refresh(presented, next, now).await
                }

                async fn revoke_refresh_family(&self, family_id: &str, until: SystemTime) -> Result<(), HostError> {
                    self.state.revoke_refresh_family(family_id, until).await
                }

                async fn revoke_access_token(&self, jti: &str, expires_at: SystemTime) -> Result<(), HostError> {
                    self.state.revoke_access_token(jti, expires_at).await
                }

                async fn is_access_token_revoked(&self, jti: &str, now: SystemTime) -> Result<bool, HostError> {
                    self.state.is_access_token_revoked(jti, now).await
                }

                async fn revoked_access_tokens(&self, now: SystemTime) -> Result<Vec<(String, SystemTime)>, HostError> {
                    self.state.revoked_access_tokens(now).await
                }

                async fn insert_dpop_jti(&self, key: &TokenHash, expires_at: SystemTime) -> Result<bool, HostError> {
                    self.state.insert_dpop_jti(key, expires_at).await
                }

                async fn put_device_grant(
                    &self,
                    device_code: &TokenHash,
                    grant: &DeviceGrant,
                ) -> Result<bool, HostError> {
                    self.state.put_device_grant(device_code, grant).await
                }

                async fn find_device_grant(
                    &self,
                    device_code: &TokenHash,
                    now: SystemTime,
                ) -> Result<Option<DeviceGrant>, HostError> {
                    self.state.find_device_grant(device_code, now).await
                }

                async fn find_device_grant_by_user_code(
                    &self,
                    user_code: &str,
                    now: SystemTime,
                ) -> Result<Option<(TokenHash, DeviceGrant)>, HostError> {
                    self.state.find_device_grant_by_user_code(user_code, now).await
                }

                async fn decide_device_grant(
                    &self,
                    device_code: &TokenHash,
                    decision: &DeviceDecision,
                    now: SystemTime,
                ) -> Result<bool, HostError> {
                    self.state.decide_device_grant(device_code, decision, now).await
                }

                async fn poll_device_grant(
                    &self,
                    device_code: &TokenHash,
                    now: SystemTime,
                ) -> Result<DevicePoll, HostError> {
                    self.state.poll_device_grant(device_code, now).await
                }

                async fn put_grant(&self, grant: &Grant) -> Result<(), HostError> {
                    self.state.put_grant(grant).await
                }

                async fn record_grant_use(&self, grant_id: &str, now: SystemTime) -> Result<(), HostError> {
                    self.state.record_grant_use(grant_id, now).await
                }

                async fn find_grant(&self, grant_id: &str, now: SystemTime) -> Result<Option<Grant>, HostError> {
                    self.state.find_grant(grant_id, now).await
                }

                async fn grants(&self, subject: &str, now: SystemTime, limit: usize) -> Result<Vec<Grant>, HostError> {
                    self.state.grants(subject, now, limit).await
                }

                async fn revoke_grant(
                    &self,
                    subject: &str,
                    grant_id: &str,
                    now: SystemTime,
                ) -> Result<Option<Grant>, HostError> {
                    self.state.revoke_grant(subject, grant_id, now).await
                }

                async fn put_logout_session(&self, session: &LogoutSession) -> Result<(), HostError> {
                    self.state.put_logout_session(session).await
                }

                async fn take_logout_sessions(
                    &self,
                    subject: &str,
                    session_id: Option<&str>,
                    now: SystemTime,
                ) -> Result<Vec<LogoutSession>, HostError> {
                    self.state.take_logout_sessions(subject, session_id, now).await
                }
            }
        };
    };
}

/// The public methods of a registered-client table (`SqliteRegistrations`,
/// `PostgresRegistrations`), forwarded to its field `clients`, a
/// [`RegisteredClients`](super::registrations::RegisteredClients) of the database of `$pool`, and
/// `Debug`, which names the type and nothing of its pool. The docs are the same for both types,
/// and written once here. A macro, not a generic type: see the module docs of `sql`.
macro_rules! impl_registrations {
    ($registrations:ident, $pool:ty) => {
        const _: () = {
            use $crate::error::HostError;
            use $crate::host::registrations::ClientRegistration;
            use $crate::model::client::ClientId;
            use $crate::store::sql::registrations::RegisteredClients;

            impl std::fmt::Debug for $registrations {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.debug_struct(stringify!($registrations)).finish_non_exhaustive()
                }
            }

            impl $registrations {
                /// The registered clients in the database of `pool`, whose migrations have run.
                pub fn from_pool(pool: $pool) -> Self {
                    Self { clients: RegisteredClients::new(pool) }
                }

                /// Stores a new registration; an error if its client id exists.
                pub async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
                    self.clients.create(registration).await
                }

                /// Loads a registration by client id.
                pub async fn load_registration(
                    &self,
                    client_id: &ClientId,
                ) -> Result<Option<ClientRegistration>, HostError> {
                    self.clients.load(client_id).await
                }

                /// Replaces a registration; `false` when there was none.
                pub async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
                    self.clients.update(registration).await
                }

                /// Deletes a registration; `false` when there was none.
                pub async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
                    self.clients.delete(client_id).await
                }
            }
        };
    };
}
