//! HTTPS works: a real TLS handshake with the client's TLS stack (rustls with ring) against a
//! local TLS server whose certificate is signed by a test CA (tests/tls/, valid until 2126).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use trekmail_api::{CallError, ClientBuilder, RetryPolicy};

const CA: &[u8] = include_bytes!("tls/ca.pem");

async fn tls_server() -> (u16, tokio::task::JoinHandle<String>) {
    let certs = vec![CertificateDer::from_pem_slice(include_bytes!("tls/server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("tls/server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let Ok(mut tls) = acceptor.accept(tcp).await else {
            return String::from("handshake failed");
        };
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tls.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let body = br#"{"data":{"plan":"pro"}}"#;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        tls.write_all(head.as_bytes()).await.unwrap();
        tls.write_all(body).await.unwrap();
        tls.shutdown().await.ok();
        String::from_utf8_lossy(&request).into_owned()
    });
    (port, task)
}

#[tokio::test]
async fn a_tls_handshake_and_request_succeed_against_a_trusted_server() {
    let (port, server) = tls_server().await;
    let client = ClientBuilder::new(format!("https://localhost:{port}"))
        .token("tm_live_tls")
        .root_certificate_pem(CA)
        .build()
        .unwrap();
    let account = client.get_account().send().await.unwrap();
    assert_eq!(
        serde_json::to_value(account.into_inner()).unwrap(),
        serde_json::json!({"data": {"plan": "pro"}})
    );
    let request = server.await.unwrap();
    assert!(
        request.starts_with("GET /api/v1/account HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer tm_live_tls"),
        "{request}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let (port, _server) = tls_server().await;
    let client = ClientBuilder::new(format!("https://localhost:{port}"))
        .token("tm_live_tls")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.get_account().send().await.unwrap_err();
    assert!(matches!(err, CallError::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}
