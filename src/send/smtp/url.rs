//! Settings for the relay: the SMTP URL, TLS roots, credentials.
//!
//! Like lettre's `connection_url`: everything decided before a socket opens.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lettre::transport::smtp::client::{Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio_rustls::rustls;

use super::error::Failure;
use crate::config::Smtp;
use crate::error::{Error, Result};

/// The environment variable that holds the SMTP password.
pub const PASSWORD_ENV: &str = "LETTERPRESS_SMTP_PASSWORD";

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte.
    ImplicitTls,
    /// `smtp://`: STARTTLS, required unless plaintext is allowed.
    StartTls,
}

/// A password that never shows up in `Debug` output or error messages.
#[derive(Clone)]
pub struct Secret(pub(super) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

/// Everything needed to open connections to the relay.
#[derive(Clone)]
pub struct SmtpSettings {
    /// The URL as shown to the user (never contains a password).
    pub url: String,
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// True when the host is a loopback address (plaintext allowed).
    pub loopback: bool,
    /// Plaintext allowed to a non-loopback host.
    pub allow_plaintext: bool,
    /// The EHLO name.
    pub hello: ClientId,
    /// AUTH user and password, when configured.
    pub credentials: Option<(String, Secret)>,
    /// The limit for any one step (connect, TLS, each reply).
    pub timeout: Duration,
    /// Roots for implicit TLS.
    pub(super) tls_config: Arc<rustls::ClientConfig>,
    /// The extra CA, for STARTTLS through lettre's TLS parameters.
    extra_ca: Option<Vec<u8>>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("url", &self.url)
            .field("security", &self.security)
            .field("loopback", &self.loopback)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpSettings {
    /// Settings from `[smtp]`, with `url` and `allow_plaintext` overridable
    /// from the command line. `default_hello` is used when `hello_name` is not
    /// set (the sender's domain). `root` resolves `ca_file`.
    pub fn new(
        smtp: &Smtp,
        url_override: Option<&str>,
        allow_plaintext: bool,
        default_hello: &str,
        root: &Path,
    ) -> Result<SmtpSettings> {
        let raw = url_override.or(smtp.url.as_deref()).ok_or_else(|| {
            Error::Usage(
                "no SMTP server: set `url` in [smtp] in letterpress.toml or pass --smtp URL (e.g. smtp://127.0.0.1:2525)".into(),
            )
        })?;
        let bad = |why: &str| Error::Usage(format!("SMTP URL {raw:?}: {why}"));
        let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
        let security = match url.scheme() {
            "smtps" => Security::ImplicitTls,
            "smtp" => Security::StartTls,
            _ => {
                return Err(bad(
                    "use smtps://host:465 (implicit TLS) or smtp://host:587 (STARTTLS)",
                ))
            }
        };
        if url.password().is_some() {
            return Err(bad(&format!(
                "never put the password in the URL; export {PASSWORD_ENV} or set smtp.password_command"
            )));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port().unwrap_or(match security {
            Security::ImplicitTls => 465,
            Security::StartTls => 587,
        });
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let user = (!url.username().is_empty())
            .then(|| url.username().to_string())
            .or_else(|| smtp.username.clone());
        let credentials = match user {
            Some(user) => Some((user, password(smtp)?)),
            None => None,
        };
        let extra_ca = match &smtp.ca_file {
            Some(p) => {
                let path = if p.is_absolute() {
                    p.clone()
                } else {
                    root.join(p)
                };
                Some(std::fs::read(&path).map_err(|e| Error::io("read", path, e))?)
            }
            None => None,
        };
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(pem) = &extra_ca {
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| Error::Usage(format!("smtp.ca_file: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| Error::Usage(format!("smtp.ca_file: {e}")))?;
                n += 1;
            }
            if n == 0 {
                return Err(Error::Usage("smtp.ca_file holds no PEM certificate".into()));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls_config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Usage(format!("TLS setup: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let hello = smtp
            .hello_name
            .clone()
            .unwrap_or_else(|| default_hello.to_string());
        let mut shown = url.clone();
        let _ = shown.set_username("");
        Ok(SmtpSettings {
            url: shown.to_string(),
            host,
            port,
            security,
            loopback,
            allow_plaintext: allow_plaintext || smtp.allow_plaintext,
            hello: ClientId::Domain(hello),
            credentials,
            timeout: Duration::from_secs_f64(smtp.timeout_seconds.max(0.001)),
            tls_config: Arc::new(tls_config),
            extra_ca,
        })
    }

    pub(super) fn starttls_parameters(&self) -> std::result::Result<TlsParameters, Failure> {
        let mut b = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.extra_ca {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| Failure::fatal(format!("smtp.ca_file: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build()
            .map_err(|e| Failure::fatal(format!("TLS setup: {e}")))
    }
}

/// The password from the environment or `password_command`.
fn password(smtp: &Smtp) -> Result<Secret> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        if !p.is_empty() {
            return Ok(Secret(p));
        }
    }
    let Some(cmd) = &smtp.password_command else {
        return Err(Error::Usage(format!(
            "smtp.username is set but there is no password: export {PASSWORD_ENV} or set smtp.password_command"
        )));
    };
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| Error::Usage(format!("smtp.password_command could not run: {e}")))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "smtp.password_command failed ({}); its output is not shown",
            out.status
        )));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| {
        Error::Usage("smtp.password_command printed something that is not UTF-8".into())
    })?;
    let p = text.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        return Err(Error::Usage("smtp.password_command printed nothing".into()));
    }
    Ok(Secret(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> Result<SmtpSettings> {
        SmtpSettings::new(
            &Smtp::default(),
            Some(url),
            false,
            "example.com",
            Path::new("."),
        )
    }

    #[test]
    fn urls() {
        let s = settings("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security, s.loopback),
            ("127.0.0.1", 2525, Security::StartTls, true)
        );
        let s = settings("smtps://mail.example.com").unwrap();
        assert_eq!(
            (s.port, s.security, s.loopback),
            (465, Security::ImplicitTls, false)
        );
        let s = settings("smtp://[::1]:25").unwrap();
        assert_eq!((s.host.as_str(), s.loopback), ("::1", true));
        assert_eq!(settings("smtp://mail.example.com").unwrap().port, 587);
        assert!(settings("http://x").is_err());
        let e = settings("smtp://u:hunter2@mail.example.com")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("never put the password") && !e.contains("hunter2")
                || e.contains("hunter2") && e.contains("never"),
            "{e}"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "<hidden>");
    }
}
