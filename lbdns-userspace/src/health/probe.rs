//! One probe of one target: a TCP connect, or an HTTP(S) GET whose status and body are
//! checked. The whole probe runs under the check's timeout.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_rustls::TlsConnector;

use crate::pool::{HttpProbe, Probe, Target, MAX_BODY};

/// Why a probe failed, in words an operator acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("connect refused")]
    Refused,
    #[error("timeout after {0:?}")]
    Timeout(Duration),
    /// Any other connect error: unreachable, reset, no route.
    #[error("connect: {0}")]
    Connect(String),
    #[error("TLS: {0}")]
    Tls(String),
    /// The server spoke something that is not HTTP/1.1, or closed early.
    #[error("HTTP: {0}")]
    Http(String),
    #[error("status {0}")]
    Status(u16),
    #[error("body mismatch: {0:?} not in the first {MAX_BODY} octets")]
    BodyMismatch(String),
}

/// Probes `target` once; `Ok` is healthy.
pub(super) async fn probe(target: &Target) -> Result<(), Failure> {
    let timeout = target.check.timeout;
    tokio::time::timeout(timeout, probe_untimed(target))
        .await
        .unwrap_or(Err(Failure::Timeout(timeout)))
}

async fn probe_untimed(target: &Target) -> Result<(), Failure> {
    let stream = TcpStream::connect(target.address)
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => Failure::Refused,
            _ => Failure::Connect(e.to_string()),
        })?;
    match &target.check.probe {
        // Connected is healthy; dropping the stream closes it with a FIN.
        Probe::Tcp => Ok(()),
        Probe::Http(http) if http.tls => {
            let connector = TlsConnector::from(tls_config(http.verify_tls)?);
            let tls = connector
                .connect(server_name(http, target.address), stream)
                .await
                .map_err(|e| Failure::Tls(e.to_string()))?;
            get(tls, target.address, http).await
        }
        Probe::Http(http) => get(stream, target.address, http).await,
    }
}

/// One GET on a fresh connection, closed afterwards: a health check should see what a new
/// client sees, not a kept-alive connection that outlived a restart.
async fn get<S>(stream: S, address: SocketAddr, http: &HttpProbe) -> Result<(), Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let protocol = |e: hyper::Error| Failure::Http(e.to_string());
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(protocol)?;
    let host = http
        .host
        .clone()
        .unwrap_or_else(|| default_host(address, http.tls));
    let request = Request::get(http.path.as_str())
        .header(HOST, host)
        .header(
            USER_AGENT,
            concat!("lbdns-health/", env!("CARGO_PKG_VERSION")),
        )
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| Failure::Http(e.to_string()))?;
    let exchange = async {
        let response = sender.send_request(request).await.map_err(protocol)?;
        let status = response.status().as_u16();
        if !http.status.contains(&status) {
            return Err(Failure::Status(status));
        }
        let Some(needle) = &http.body else {
            return Ok(());
        };
        let mut body = response.into_body();
        let mut seen = Vec::new();
        while seen.len() < MAX_BODY {
            let Some(frame) = body.frame().await else {
                break;
            };
            if let Ok(data) = frame.map_err(protocol)?.into_data() {
                let room = MAX_BODY - seen.len();
                seen.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
        if seen.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            Ok(())
        } else {
            Err(Failure::BodyMismatch(needle.clone()))
        }
    };
    // The connection future moves the octets; run it beside the exchange, inside the same
    // timeout. When it ends (or fails) hyper fails the exchange, so it need not be watched.
    let drive = async {
        let _ = connection.await;
        std::future::pending::<()>().await
    };
    tokio::select! {
        result = exchange => result,
        () = drive => unreachable!("pending never completes"),
    }
}

/// The Host header without a configured host: the address, with the port unless default.
fn default_host(address: SocketAddr, tls: bool) -> String {
    let default_port = if tls { 443 } else { 80 };
    match (address, address.port() == default_port) {
        (SocketAddr::V4(a), true) => a.ip().to_string(),
        (SocketAddr::V6(a), true) => format!("[{}]", a.ip()),
        (address, false) => address.to_string(),
    }
}

/// The TLS server name: the configured host without its port, else the address (rustls
/// sends no SNI for an address and checks the certificate's IP SANs).
fn server_name(http: &HttpProbe, address: SocketAddr) -> ServerName<'static> {
    http.host
        .as_deref()
        .map(|host| match host.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or(bracketed),
            None if host.matches(':').count() == 1 => host.split(':').next().unwrap_or(host),
            None => host,
        })
        .and_then(|host| ServerName::try_from(host.to_owned()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(address.ip().into()))
}

/// Client configurations, built once: loading the system roots reads many files.
fn tls_config(verify: bool) -> Result<Arc<ClientConfig>, Failure> {
    static VERIFIED: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    static UNVERIFIED: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    let cell = if verify { &VERIFIED } else { &UNVERIFIED };
    cell.get_or_init(|| build_tls_config(verify))
        .clone()
        .map_err(Failure::Tls)
}

fn build_tls_config(verify: bool) -> Result<Arc<ClientConfig>, String> {
    // Named explicitly: with another provider compiled in, rustls could not pick a default.
    let provider = Arc::new(crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let mut config = if verify {
        let loaded = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(loaded.certs);
        if roots.is_empty() {
            return Err(format!(
                "no trusted roots in the system store ({} errors loading it); install ca-certificates or set verify_tls = false",
                loaded.errors.len()
            ));
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// `verify_tls = false`: any certificate is accepted (backends with self-signed or internal
/// certificates), but the handshake signatures are still checked, so the peer holds the key
/// of the certificate it sent.
struct AnyCertificate(Arc<CryptoProvider>);

impl fmt::Debug for AnyCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnyCertificate")
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
