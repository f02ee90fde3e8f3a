//! The network probes of `doctor`: one HTTP(S) GET, with the certificate
//! checked against the web's roots.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// The first line and status of an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The status line as received.
    pub line: String,
}

/// `GET url` with `Connection: close`; the status, or why there is none.
/// `https` certificates are verified against the Mozilla roots.
pub async fn http_get(url: &str, timeout: Duration) -> Result<HttpAnswer, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| format!("{url} has no host"))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| format!("{url}: unknown port"))?;
    let mut path = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        path.push('?');
        path.push_str(q);
    }
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: letterpress-doctor\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        parsed.host_str().unwrap_or_default()
    );
    let work = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let head = match parsed.scheme() {
            "https" => {
                let mut roots = rustls::RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
                let name = rustls_pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| format!("{host}: not a TLS server name: {e}"))?;
                let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS with {host}:{port} failed: {e}"))?;
                exchange(&mut tls, &request).await?
            }
            "http" => {
                let mut tcp = tcp;
                exchange(&mut tcp, &request).await?
            }
            other => return Err(format!("{url}: {other}:// is not HTTP")),
        };
        let line = head.lines().next().unwrap_or_default().to_string();
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .filter(|_| line.starts_with("HTTP/"))
            .ok_or_else(|| format!("{host}:{port} did not answer HTTP: {line:?}"))?;
        Ok(HttpAnswer { status, line })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("{url} did not answer within {} s", timeout.as_secs()))?
}

/// Writes the request and reads up to the end of the headers (at most 16 KiB).
async fn exchange<S>(stream: &mut S, request: &str) -> Result<String, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while buf.len() < 16 * 1024 && !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("cannot read the response: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
