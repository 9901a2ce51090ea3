//! HTTPS: the secure headers every response carries (`oneshot`), the plain-HTTP redirect,
//! and a real hub serving a made certificate — HTTPS and the websocket over TLS, a client
//! that never finishes its handshake holding up no one, plain HTTP redirected.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::{SinkExt, StreamExt};
use signaling::http::{AppState, CONTENT_SECURITY_POLICY, HSTS, app, redirect_app};
use signaling::protocol::ServerMessage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, pki_types::CertificateDer, pki_types::ServerName};
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

async fn state(name: &str, https: bool) -> AppState {
    let mut s = AppState::new(
        common::bare_hub(name).await,
        std::env::temp_dir().join(format!("cau-https-{name}-{}", std::process::id())),
    );
    s.https = https;
    s
}

async fn headers_of(state: &AppState, uri: &str) -> (StatusCode, axum::http::HeaderMap) {
    let r = app(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    (r.status(), r.headers().clone())
}

#[tokio::test]
async fn every_response_carries_the_secure_headers_and_hsts_only_over_https() {
    let plain = state("headers_plain", false).await;
    for uri in [
        "/",
        "/meeting.html",
        "/js/meeting.js",
        "/api/directory",
        "/no-such-page",
        "/healthz",
    ] {
        let (status, h) = headers_of(&plain, uri).await;
        assert!(
            status != StatusCode::INTERNAL_SERVER_ERROR,
            "{uri}: {status}"
        );
        let get = |n: &str| h.get(n).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            get("content-security-policy").as_deref(),
            Some(CONTENT_SECURITY_POLICY),
            "{uri}"
        );
        assert_eq!(
            get("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{uri}"
        );
        assert_eq!(
            get("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{uri}"
        );
        assert_eq!(get("x-frame-options").as_deref(), Some("DENY"), "{uri}");
        assert!(
            get("permissions-policy").unwrap().contains("camera=(self)"),
            "{uri}"
        );
        assert_eq!(
            get("strict-transport-security"),
            None,
            "{uri}: no HSTS over plain HTTP"
        );
        assert_eq!(
            h.get_all("content-security-policy").iter().count(),
            1,
            "{uri}: once"
        );
    }
    let https = state("headers_https", true).await;
    let (_, h) = headers_of(&https, "/").await;
    assert_eq!(h.get(header::STRICT_TRANSPORT_SECURITY).unwrap(), HSTS);
    // The policy allows nothing from elsewhere and no inline code.
    for must in [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(CONTENT_SECURITY_POLICY.contains(must), "{must}");
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-"));
}

async fn redirect(
    https_port: u16,
    public_url: Option<&str>,
    host: Option<&str>,
    uri: &str,
) -> (StatusCode, Option<String>) {
    let mut req = Request::get(uri);
    if let Some(host) = host {
        req = req.header(header::HOST, host);
    }
    let r = redirect_app(https_port, public_url.map(str::to_string))
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let location = r
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    (r.status(), location)
}

#[tokio::test]
async fn plain_http_is_redirected_to_the_same_path_over_https() {
    let q = "/meeting.html?m=12&t=abc";
    assert_eq!(
        redirect(8443, None, Some("198.18.0.1:8080"), q).await,
        (
            StatusCode::PERMANENT_REDIRECT,
            Some(format!("https://198.18.0.1:8443{q}"))
        )
    );
    assert_eq!(
        redirect(443, None, Some("hop.example.vn"), "/").await,
        (
            StatusCode::PERMANENT_REDIRECT,
            Some("https://hop.example.vn/".into())
        )
    );
    assert_eq!(
        redirect(8443, None, Some("[fd00::5]:80"), "/x").await,
        (
            StatusCode::PERMANENT_REDIRECT,
            Some("https://[fd00::5]:8443/x".into())
        )
    );
    // With a public URL the request's Host does not matter.
    assert_eq!(
        redirect(
            8443,
            Some("https://hop.thainguyen.gov.vn/"),
            Some("evil.example"),
            q
        )
        .await,
        (
            StatusCode::PERMANENT_REDIRECT,
            Some(format!("https://hop.thainguyen.gov.vn{q}"))
        )
    );
    // No host, or one that is not a host: refused, not sent somewhere odd.
    for host in [None, Some("a/b"), Some("user@evil.example"), Some("")] {
        let (status, location) = redirect(8443, None, host, "/").await;
        assert_eq!(
            (status, location),
            (StatusCode::BAD_REQUEST, None),
            "{host:?}"
        );
    }
}

/// A TLS client that trusts only the certificate the hub made.
fn connector(hub: &signaling::RunningHub) -> TlsConnector {
    let made = hub.tls.as_ref().unwrap().made.clone().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&made).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// One HTTP/1.1 request on `io`; the whole response as text.
async fn request<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    io: &mut S,
    path: &str,
    host: &str,
) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    io.write_all(req.as_bytes()).await.unwrap();
    let mut out = vec![];
    tokio::time::timeout(Duration::from_secs(10), io.read_to_end(&mut out))
        .await
        .expect("a response within 10 s")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_with_a_made_certificate_serves_https_and_wss_and_redirects_plain_http() {
    let mut config = common::test_config("https_made");
    config.tls = Some(signaling::config::TlsMode::SelfSigned);
    config.http_redirect = Some("127.0.0.1:0".parse().unwrap());
    let hub = signaling::start(&config).await.expect("hub starts");
    assert!(hub.url().starts_with("https://127.0.0.1:"), "{}", hub.url());
    let tls = hub.tls.clone().unwrap();
    assert_eq!(tls.fingerprint.len(), 95, "{}", tls.fingerprint);
    let name = ServerName::try_from("127.0.0.1").unwrap();

    // A client that connects and never says a word holds up no one.
    let silent = TcpStream::connect(hub.addr).await.unwrap();

    // HTTPS, verified against the made certificate (which names 127.0.0.1).
    let tcp = TcpStream::connect(hub.addr).await.unwrap();
    let mut io = connector(&hub)
        .connect(name.clone(), tcp)
        .await
        .expect("TLS handshake");
    let response = request(&mut io, "/healthz", &hub.addr.to_string()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains(&format!("strict-transport-security: {HSTS}")),
        "{response}"
    );

    // The websocket over TLS: a malformed message gets the protocol's answer.
    let tcp = TcpStream::connect(hub.addr).await.unwrap();
    let io = connector(&hub).connect(name.clone(), tcp).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://{}/ws", hub.addr), io)
        .await
        .expect("wss upgrade");
    ws.send(Message::text("not json")).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let answer: ServerMessage = serde_json::from_str(answer.to_text().unwrap()).unwrap();
    assert!(matches!(answer, ServerMessage::Error { .. }), "{answer:?}");

    // Plain HTTP on the TLS port gets no page.
    let mut plain = TcpStream::connect(hub.addr).await.unwrap();
    let response = request(&mut plain, "/", "127.0.0.1").await;
    assert!(!response.contains("200 OK"), "{response}");
    // ... and counts as a failed handshake.
    let tcp = TcpStream::connect(hub.addr).await.unwrap();
    let mut io = connector(&hub).connect(name.clone(), tcp).await.unwrap();
    let metrics = request(&mut io, "/metrics", &hub.addr.to_string()).await;
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("cau_tls_handshake_failures_total "))
        .expect("the counter")
        .trim()
        .parse()
        .unwrap();
    assert!(failures >= 1, "{failures}");

    // Plain HTTP on the redirect port: sent to HTTPS.
    let at = hub.redirect_addr.unwrap();
    let mut plain = TcpStream::connect(at).await.unwrap();
    let response = request(
        &mut plain,
        "/archive.html?q=1",
        &format!("127.0.0.1:{}", at.port()),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 308"), "{response}");
    assert!(
        response.contains(&format!(
            "location: https://127.0.0.1:{}/archive.html?q=1",
            hub.addr.port()
        )),
        "{response}"
    );

    drop(silent);
    hub.shutdown().await;

    // Started again: the same certificate.
    let again = signaling::start(&config).await.expect("hub starts again");
    assert_eq!(again.tls.as_ref().unwrap().fingerprint, tls.fingerprint);
    again.shutdown().await;
}

#[tokio::test]
async fn a_certificate_that_cannot_be_used_stops_the_start_naming_the_file() {
    let mut config = common::test_config("https_bad_files");
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let junk = config.data_dir.join("cert.pem");
    std::fs::write(
        &junk,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    config.tls_cert = Some(junk);
    config.tls_key = Some(config.data_dir.join("key.pem"));
    let e = signaling::start(&config).await.unwrap_err().to_string();
    assert!(e.contains("--tls-cert") && e.contains("cert.pem"), "{e}");
}
