//! `RemoteGuard` over real TLS (feature `fetch`): a provider served over HTTPS on a loopback port
//! with a certificate from a CA the test makes with the `openssl` command line, the way an
//! internal provider behind a private CA is served. The guard trusts that CA only when given it
//! (`root_certificate_pem`), and still checks the host name.
//!
//! Where openssl is not installed the TLS tests are skipped with a message; under `CI=true` a
//! missing openssl fails them. The tests of invalid PEM texts need no openssl.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::common::resource::call;
use crate::common::*;
use attesto::{Algorithm, Attesto, Key, RemoteGuard, RemoteGuardError};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode, header};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

// ---------------------------------------------------------------------------------------------
// a private CA, made with openssl
// ---------------------------------------------------------------------------------------------

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("attesto-{name}-{}-{:x}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir(&path).expect("create a temporary directory");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        drop(std::fs::remove_dir_all(&self.0));
    }
}

/// Whether openssl can be run; under `CI=true` its absence fails the test instead.
fn openssl_installed() -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(output) if output.status.success() => true,
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("openssl is not installed: CI=true runs the TLS tests of RemoteGuard, install openssl")
        }
        _ => {
            eprintln!("skipped: openssl is not installed (it makes the test's CA and server certificates)");
            false
        }
    }
}

/// Runs `openssl args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("`openssl {}`: {e}", args.join(" ")));
    assert!(
        output.status.success(),
        "`openssl {}` failed: {}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A CA of its own configuration (not the system's `openssl.cnf`): a v3 CA certificate that
/// rustls' verifier takes as a trust anchor.
const CA_CONFIG: &str = "\
[req]
distinguished_name = dn
x509_extensions = ca
prompt = no
[dn]
CN = attesto test CA
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
";

/// A CA in a directory of its own: its certificate is `ca.pem`, its key `ca.key`.
struct Ca {
    dir: TempDir,
    pem: String,
}

impl Ca {
    fn new() -> Self {
        let dir = TempDir::new("tls-ca");
        std::fs::write(dir.0.join("ca.cnf"), CA_CONFIG).expect("write the CA configuration");
        openssl(
            &dir.0,
            &[
                "req",
                "-x509",
                "-config",
                "ca.cnf",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
            ],
        );
        let pem = read(&dir.0, "ca.pem");
        Self { dir, pem }
    }

    /// A server certificate signed by this CA for the subject alternative names `san` (as in
    /// `DNS:localhost,IP:127.0.0.1`): its chain (the certificate) and its private key.
    fn server_certificate(&self, san: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let dir = &self.dir.0;
        std::fs::write(
            dir.join("server.cnf"),
            format!(
                "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
                 extendedKeyUsage = serverAuth\nsubjectAltName = {san}\n"
            ),
        )
        .expect("write the server extensions");
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-config",
                "ca.cnf",
                "-subj",
                "/CN=attesto test server",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        );
        let serial = format!("{}", rand::random::<u32>());
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                &serial,
                "-days",
                "1",
                "-extfile",
                "server.cnf",
                "-out",
                "server.pem",
            ],
        );
        let chain = CertificateDer::pem_slice_iter(read(dir, "server.pem").as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("the server certificate");
        let key = PrivateKeyDer::from_pem_slice(read(dir, "server.key").as_bytes()).expect("the server key");
        (chain, key)
    }
}

// ---------------------------------------------------------------------------------------------
// a provider served over TLS
// ---------------------------------------------------------------------------------------------

/// The TLS connections of a loopback port, for `axum::serve`: TCP connections are accepted and
/// their handshakes run in tasks of their own, so that a client that fails its handshake (an
/// untrusted certificate) does not hold up the next one.
struct TlsListener {
    connections: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    address: SocketAddr,
}

impl TlsListener {
    fn new(tcp: TcpListener, chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("the server certificate and key");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let address = tcp.local_addr().expect("address");
        let (sender, connections) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            while let Ok((stream, peer)) = tcp.accept().await {
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    // A failed handshake is the client refusing the certificate: nothing to serve.
                    if let Ok(tls) = acceptor.accept(stream).await {
                        drop(sender.send((tls, peer)).await);
                    }
                });
            }
        });
        Self { connections, address }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The accepting task ended with the runtime: no connection will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.address)
    }
}

/// A provider whose issuer is `https://localhost:<port>`, served over TLS on that loopback port
/// with a certificate of `ca` for `san`.
async fn provider_over_tls(ca: &Ca, san: &str) -> (Attesto<TestHost>, String) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let issuer = format!("https://localhost:{}", tcp.local_addr().expect("address").port());
    let auth = Attesto::builder(TestHost::new())
        .issuer(&issuer)
        .expect("valid issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .resource(RESOURCE)
        .expect("valid resource")
        .build()
        .expect("provider builds");
    let (chain, key) = ca.server_certificate(san);
    let listener = TlsListener::new(tcp, chain, key);
    let router = auth.router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("server runs");
    });
    (auth, issuer)
}

/// A `client_credentials` token of `service` for the MCP resource, from `auth`'s token endpoint.
async fn mcp_token(auth: &Attesto<TestHost>) -> String {
    let request = Request::post(TestHost::PATHS.token)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .body(Body::from("grant_type=client_credentials&scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp"))
        .expect("request");
    let (status, _, body) = send_json(&auth.router(), request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

async fn build_error(guard: RemoteGuard) -> RemoteGuardError {
    // Fetching in `build`: a failed fetch is the build's error, not a 503 at the first request.
    match guard.fetch_keys_at_build(true).build().await {
        Ok(guard) => panic!("the guard was built: {guard:?}"),
        Err(error) => error,
    }
}

/// A metadata fetch whose TLS certificate was refused: the error names the metadata URL of
/// `issuer` and the certificate as the cause.
fn assert_metadata_fetch_failed(error: &RemoteGuardError, issuer: &str) {
    let metadata_url = format!("{issuer}/.well-known/oauth-authorization-server");
    assert!(matches!(error, RemoteGuardError::Metadata { url, .. } if *url == metadata_url), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the authorization server metadata at `{metadata_url}` could not be used: the fetch failed: the server's TLS certificate was refused (not from a trusted CA, or not for this host)"
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// the tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_guard_trusting_the_private_ca_fetches_over_tls_and_accepts_the_providers_token() {
    if !openssl_installed() {
        return;
    }
    let ca = Ca::new();
    let (auth, issuer) = provider_over_tls(&ca, "DNS:localhost,IP:127.0.0.1").await;
    // Another CA first, in a bundle and in a call of its own: every CA given is trusted.
    let other = Ca::new();
    let guard = RemoteGuard::new(&issuer, RESOURCE)
        .root_certificate_pem(&other.pem)
        .root_certificate_pem(&format!("{}{}", other.pem, ca.pem))
        .build()
        .await
        .expect("the guard builds: the metadata and the JWKS are fetched over TLS");
    let app =
        Router::new().route("/mcp", get(|who: attesto::Authenticated| async move { who.subject })).with_state(guard);
    let token = mcp_token(&auth).await;
    let (status, _, body) = call(&app, "/mcp", Some(&format!("Bearer {token}")), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn without_the_private_ca_the_providers_certificate_is_not_trusted() {
    if !openssl_installed() {
        return;
    }
    let ca = Ca::new();
    let (_auth, issuer) = provider_over_tls(&ca, "DNS:localhost,IP:127.0.0.1").await;
    let error = build_error(RemoteGuard::new(&issuer, RESOURCE)).await;
    assert_metadata_fetch_failed(&error, &issuer);
    // Another CA is no better.
    let other = Ca::new();
    let error = build_error(RemoteGuard::new(&issuer, RESOURCE).root_certificate_pem(&other.pem)).await;
    assert_metadata_fetch_failed(&error, &issuer);
}

#[tokio::test]
async fn a_certificate_of_the_private_ca_for_another_host_is_refused() {
    if !openssl_installed() {
        return;
    }
    let ca = Ca::new();
    let (_auth, issuer) = provider_over_tls(&ca, "DNS:other.example").await;
    let error = build_error(RemoteGuard::new(&issuer, RESOURCE).root_certificate_pem(&ca.pem)).await;
    assert_metadata_fetch_failed(&error, &issuer);
}

#[tokio::test]
async fn a_root_certificate_that_is_not_pem_certificates_fails_the_build_before_any_fetch() {
    // No provider listens at the issuer: the certificates are checked before anything is fetched.
    let guard = |pem: &str| RemoteGuard::new("https://localhost:1", RESOURCE).root_certificate_pem(pem);
    let cases = [
        ("not a certificate", "it holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)"),
        ("", "it holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)"),
        (
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            "a PEM certificate block is not valid base64",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
            "a certificate cannot be loaded as a trust anchor",
        ),
    ];
    for (pem, expected) in cases {
        let error = build_error(guard(pem)).await;
        assert!(
            matches!(&error, RemoteGuardError::RootCertificate { reason } if *reason == expected),
            "{pem:?}: {error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("the root certificate given to `root_certificate_pem` is not usable: {expected}")
        );
    }
}
