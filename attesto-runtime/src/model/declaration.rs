//! The compile-time declaration of a provider, as values: its path table and its feature flags,
//! which the `#[attesto::provider]` macro emits as `Provider::PATHS` and `Provider::FEATURES`.

/// The resolved endpoint paths of a provider, emitted by the macro as `Type::PATHS`.
///
/// This table is the single source of routing, both discovery documents and (with registration)
/// `registration_client_uri`: an advertised URL is always a mounted route. Paths are absolute on the
/// host (they start with `/`); endpoints whose feature is switched off are `None`.
///
/// [`Attesto::router`](crate::Attesto::router) mounts, and discovery advertises, every endpoint of
/// the table that is `Some`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Paths {
    /// Authorization endpoint (RFC 6749 §3.1), default `{prefix}/authorize`.
    pub authorize: &'static str,
    /// Token endpoint (RFC 6749 §3.2), default `{prefix}/token`.
    pub token: &'static str,
    /// JSON Web Key Set (RFC 7517 §5), default `{prefix}/jwks`.
    pub jwks: &'static str,
    /// OpenID Connect userinfo endpoint, default `{prefix}/userinfo`; needs `openid` and `userinfo`.
    pub userinfo: Option<&'static str>,
    /// Token revocation (RFC 7009), default `{prefix}/revoke`.
    pub revocation: Option<&'static str>,
    /// Token introspection (RFC 7662), default `{prefix}/introspect`.
    pub introspection: Option<&'static str>,
    /// Pushed authorization requests (RFC 9126), default `{prefix}/par`.
    pub par: Option<&'static str>,
    /// Dynamic client registration (RFC 7591), default `{prefix}/register`; the RFC 7592 client
    /// configuration endpoint is `{registration}/{client_id}`.
    pub registration: Option<&'static str>,
    /// Device authorization endpoint (RFC 8628 §3.1), default `{prefix}/device_authorization`;
    /// needs `device_authorization`.
    pub device_authorization: Option<&'static str>,
    /// The verification page where the user enters a device's user code (RFC 8628 §3.3),
    /// default `{prefix}/device`; needs `device_authorization`.
    pub device_verification: Option<&'static str>,
    /// The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2), default
    /// `{prefix}/end_session`; needs `openid` and `end_session`.
    pub end_session: Option<&'static str>,
    /// The path of the protected resource the host serves (`resource = "/mcp"`), e.g. an MCP
    /// server: tokens may be issued for it (RFC 8707) and
    /// [`Attesto::resource_guard`](crate::Attesto::resource_guard) protects it. Not an attesto
    /// route: the host mounts it.
    pub resource: Option<&'static str>,
    /// Where the router serves the resource's metadata (RFC 9728 §3.1): the well-known path followed
    /// by the resource's path, e.g. `/.well-known/oauth-protected-resource/mcp`.
    pub resource_metadata: Option<&'static str>,
}

/// The feature flags of a provider declaration, emitted by the macro as `Type::FEATURES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Features {
    /// OpenID Connect: ID tokens and `/.well-known/openid-configuration` (on by default).
    pub openid: bool,
    /// The userinfo endpoint (on by default, needs `openid`).
    pub userinfo: bool,
    /// Token revocation, RFC 7009 (on by default).
    pub revocation: bool,
    /// Token introspection, RFC 7662 (on by default).
    pub introspection: bool,
    /// Pushed authorization requests, RFC 9126 (on by default).
    pub par: bool,
    /// Dynamic client registration, RFC 7591 / RFC 7592 (off by default).
    pub registration: bool,
    /// The device authorization grant, RFC 8628 (off by default).
    pub device_authorization: bool,
    /// OpenID Connect RP-Initiated Logout 1.0: the end-session endpoint (off by default, needs
    /// `openid` and the host's [`SessionStore`](crate::SessionStore)).
    pub end_session: bool,
    /// `dev_sign_in = "subject"`: every authorization request is signed in as this subject and
    /// approved without a page. For development only: the builder refuses it unless the issuer
    /// is on a loopback host.
    pub dev_sign_in: Option<&'static str>,
}

impl Paths {
    /// The userinfo path, when the endpoint is on: it needs OpenID Connect.
    pub(crate) fn userinfo_endpoint(&self, features: &Features) -> Option<&'static str> {
        self.userinfo.filter(|_| features.openid && features.userinfo)
    }

    /// The registration path, when the endpoint is on.
    pub(crate) fn registration_endpoint(&self, features: &Features) -> Option<&'static str> {
        self.registration.filter(|_| features.registration)
    }

    /// The end-session path, when logout is on: it needs OpenID Connect.
    pub(crate) fn end_session_endpoint(&self, features: &Features) -> Option<&'static str> {
        self.end_session.filter(|_| features.openid && features.end_session)
    }

    /// The device authorization endpoint and the verification page, when the grant is on.
    pub(crate) fn device_endpoints(&self, features: &Features) -> Option<(&'static str, &'static str)> {
        self.device_authorization.zip(self.device_verification).filter(|_| features.device_authorization)
    }
}
