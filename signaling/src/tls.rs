//! HTTPS: the hub's certificate — read from files, or made for a LAN trial
//! (`--tls self-signed`) — and the listener that accepts TLS connections for the HTTP server.
//!
//! Browsers give camera and microphone only to secure pages, so beyond `localhost` the hub is
//! usable only over HTTPS. A made certificate is kept in `DATA_DIR/tls/` with its key: it is
//! remade (same key, so the key's fingerprint a browser was told to trust stays) when the
//! names it must cover change or it has less than 30 days left.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rcgen::{CertificateParams, KeyPair, PublicKeyData};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Where a made certificate lives, under the data directory.
pub const SELF_SIGNED_DIR: &str = "tls";
const CERT_FILE: &str = "self-signed.crt";
const KEY_FILE: &str = "self-signed.key";
const META_FILE: &str = "self-signed.json";
/// How long a made certificate is valid: browsers refuse longer ones.
const VALIDITY: Duration = Duration::from_secs(397 * 24 * 3600);
/// A made certificate with less left than this is made again at start.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);
/// A client that has not finished its TLS handshake by then is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's TLS configuration and what an operator needs to recognise its certificate.
#[derive(Debug, Clone)]
pub struct Certified {
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the certificate (DER), `AB:CD:…`, as browsers show it.
    pub fingerprint: String,
    /// SHA-256 of the certificate's public key (SubjectPublicKeyInfo), base64: what
    /// Chromium's `--ignore-certificate-errors-spki-list` takes.
    pub spki_sha256: String,
    /// The made certificate's file (`None` for one given in files).
    pub made: Option<PathBuf>,
}

/// Why the certificate could not be used; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

/// The certificate chain and key in PEM files (`--tls-cert`, `--tls-key`).
pub fn from_files(cert: &Path, key: &Path) -> Result<Certified, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError(format!("--tls-cert {}: {e}", cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError(format!("--tls-cert {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(TlsError(format!(
            "--tls-cert {}: no certificate in it (PEM \"BEGIN CERTIFICATE\")",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError(format!("--tls-key {}: {e}", key.display())))?;
    let spki = spki_of(&chain[0]).unwrap_or_default();
    certified(chain, key, &spki, None)
}

/// What a made certificate covers, kept beside it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Made {
    names: Vec<String>,
    /// Seconds since 1970 when it expires.
    not_after: u64,
}

/// A certificate for `names` (host names and IP addresses) made for a LAN trial, kept in
/// `dir` and reused while it covers `names` for 30 more days.
pub fn self_signed(dir: &Path, names: &[String]) -> Result<Certified, TlsError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        TlsError(format!(
            "--tls self-signed: {what} in {}: {e}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("cannot create the directory", &e))?;
    let (cert_path, key_path, meta_path) =
        (dir.join(CERT_FILE), dir.join(KEY_FILE), dir.join(META_FILE));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let key = match std::fs::read_to_string(&key_path) {
        Ok(pem) => KeyPair::from_pem(&pem).map_err(|e| fail("an unreadable key", &e))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let key = KeyPair::generate().map_err(|e| fail("cannot make a key", &e))?;
            write_private(&key_path, key.serialize_pem().as_bytes())
                .map_err(|e| fail("cannot save the key", &e))?;
            key
        }
        Err(e) => return Err(fail("cannot read the key", &e)),
    };
    let meta: Option<Made> = std::fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let current = meta.is_some_and(|m| {
        m.names == names && m.not_after > (now + RENEW_BEFORE).as_secs() && cert_path.exists()
    });
    if !current {
        let mut params = CertificateParams::new(names.to_vec())
            .map_err(|e| fail("a name it cannot hold", &e))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Cầu (self-signed)");
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = epoch + now.saturating_sub(Duration::from_secs(24 * 3600));
        params.not_after = epoch + now + VALIDITY;
        let cert = params
            .self_signed(&key)
            .map_err(|e| fail("cannot sign the certificate", &e))?;
        std::fs::write(&cert_path, cert.pem())
            .map_err(|e| fail("cannot save the certificate", &e))?;
        let made = Made {
            names: names.to_vec(),
            not_after: (now + VALIDITY).as_secs(),
        };
        std::fs::write(
            &meta_path,
            serde_json::to_vec_pretty(&made).unwrap_or_default(),
        )
        .map_err(|e| fail("cannot save what the certificate covers", &e))?;
        tracing::info!(path = %cert_path.display(), ?names, "made a self-signed certificate");
    }
    let chain = vec![
        CertificateDer::from_pem_file(&cert_path)
            .map_err(|e| fail("an unreadable certificate", &e))?,
    ];
    let der = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes())
        .map_err(|e| fail("an unreadable key", &e))?;
    certified(chain, der, &key.subject_public_key_info(), Some(cert_path))
}

fn certified(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    spki: &[u8],
    made: Option<PathBuf>,
) -> Result<Certified, TlsError> {
    let fingerprint = Sha256::digest(chain[0].as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let spki_sha256 = if spki.is_empty() {
        String::new()
    } else {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki))
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError(format!("the certificate and key do not go together: {e}")))?;
    // HTTP/1.1 only: the websocket upgrade is HTTP/1.1's.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Certified {
        config: Arc::new(config),
        fingerprint,
        spki_sha256,
        made,
    })
}

/// The SubjectPublicKeyInfo of a DER certificate, found by walking its DER: the seventh
/// element of the TBSCertificate (after the optional version). `None` if it is not shaped so.
fn spki_of(cert: &[u8]) -> Option<Vec<u8>> {
    /// (tag, the whole element, its contents) of the DER element at the start of `b`.
    fn element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let first = *b.get(1)?;
        let (len, head) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | usize::from(*b.get(2 + i)?);
            }
            (len, 2 + n)
        };
        let end = head.checked_add(len)?;
        Some((tag, b.get(..end)?, b.get(head..end)?))
    }
    let (_, _, cert) = element(cert)?;
    let (_, _, mut tbs) = element(cert)?;
    let mut index = 0;
    while !tbs.is_empty() {
        let (tag, whole, _) = element(tbs)?;
        tbs = &tbs[whole.len()..];
        if index == 0 && tag == 0xa0 {
            continue; // [0] version
        }
        // serial, signature, issuer, validity, subject, then the key.
        if index == 5 {
            return Some(whole.to_vec());
        }
        index += 1;
    }
    None
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A listener whose connections have finished their TLS handshake. Handshakes run in tasks of
/// their own, each with [`HANDSHAKE_TIMEOUT`], so a slow or silent client holds up no other.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    () = tx.closed() => return,
                    accepted = tcp.accept() => match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // Out of file descriptors, most likely: wait rather than spin.
                            tracing::warn!(error = %e, "accepting a TCP connection failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            crate::metrics::count_tls_failure();
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            crate::metrics::count_tls_failure();
                            tracing::debug!(%peer, "TLS handshake timed out");
                        }
                    }
                });
            }
        });
        Ok(TlsListener {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accepting task ended (it only does when this listener goes): nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["localhost".into(), "127.0.0.1".into()]
    }

    #[test]
    fn a_made_certificate_is_kept_and_remade_with_the_same_key_when_its_names_change() {
        let dir = tempdir();
        let a = self_signed(&dir, &names()).unwrap();
        assert_eq!(a.fingerprint.len(), 32 * 3 - 1);
        let b = self_signed(&dir, &names()).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint, "reused");
        let c = self_signed(&dir, &["cau.example".to_string()]).unwrap();
        assert_ne!(a.fingerprint, c.fingerprint, "remade for other names");
        assert_eq!(a.spki_sha256, c.spki_sha256, "with the same key");
        let mode = std::fs::metadata(dir.join(KEY_FILE)).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            mode.permissions().mode() & 0o777,
            0o600,
            "the key is private"
        );
    }

    #[test]
    fn the_key_fingerprint_of_a_certificate_file_matches_the_one_made_with_it() {
        let dir = tempdir();
        let made = self_signed(&dir, &names()).unwrap();
        let from = from_files(&dir.join(CERT_FILE), &dir.join(KEY_FILE)).unwrap();
        assert_eq!(from.fingerprint, made.fingerprint);
        assert_eq!(
            from.spki_sha256, made.spki_sha256,
            "the SPKI found by walking the DER"
        );
    }

    #[test]
    fn files_that_are_not_a_certificate_and_key_are_refused_naming_the_file() {
        let dir = tempdir();
        let made = self_signed(&dir, &names()).unwrap();
        assert!(made.made.is_some());
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let e = from_files(&junk, &dir.join(KEY_FILE))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--tls-cert") && e.contains("junk.pem"), "{e}");
        let e = from_files(&dir.join(CERT_FILE), &junk)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--tls-key") && e.contains("junk.pem"), "{e}");
        let other = tempdir();
        self_signed(&other, &names()).unwrap();
        let e = from_files(&dir.join(CERT_FILE), &other.join(KEY_FILE))
            .unwrap_err()
            .to_string();
        assert!(e.contains("do not go together"), "{e}");
        let e = from_files(&dir.join("missing.crt"), &dir.join(KEY_FILE))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.crt"), "{e}");
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "cau-tls-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
