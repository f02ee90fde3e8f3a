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
pub struct Secret(pub(crate) String);

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
        let shown_raw = mask_password(raw);
        let bad = |why: &str| Error::Usage(format!("SMTP URL {shown_raw:?}: {why}"));
        let no_scheme = || {
            bad(&format!(
                "no scheme; write smtp://{raw} (STARTTLS, or plaintext to a loopback address) or smtps://{raw} (implicit TLS)",
                raw = shown_raw
            ))
        };
        let url = match url::Url::parse(raw) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) => return Err(no_scheme()),
            Err(e) => return Err(bad(&e.to_string())),
        };
        let security = match url.scheme() {
            "smtps" => Security::ImplicitTls,
            "smtp" => Security::StartTls,
            // `localhost:2525` parses as the scheme `localhost`.
            _ if !raw.contains("://") => return Err(no_scheme()),
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
            Some(user) => Some((
                user,
                password(
                    smtp,
                    crate::send::engine::seconds(
                        smtp.timeout_seconds,
                        &crate::config::TIMEOUT_SECONDS,
                    ),
                )?,
            )),
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
            timeout: crate::send::engine::seconds(
                smtp.timeout_seconds,
                &crate::config::TIMEOUT_SECONDS,
            ),
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

/// `raw` with the password of its user info, if any, shown as `***`
/// (`smtp://bob:***@host`), for error messages.
fn mask_password(raw: &str) -> String {
    let Some(start) = raw.find("://").map(|i| i + 3) else {
        return raw.to_string();
    };
    let rest = &raw[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@').map(|at| (at, &authority[..at])) {
        Some((at, userinfo)) => match userinfo.find(':') {
            Some(colon) => format!("{}{}:***{}", &raw[..start], &userinfo[..colon], &rest[at..]),
            None => raw.to_string(),
        },
        None => raw.to_string(),
    }
}

/// The password from the environment or `password_command`; the command
/// gets `timeout` (smtp.timeout_seconds) to print it, then it is killed.
fn password(smtp: &Smtp, timeout: Duration) -> Result<Secret> {
    password_from(
        PASSWORD_ENV,
        smtp.password_command.as_deref(),
        "smtp.password_command",
        "smtp.timeout_seconds",
        timeout,
    )
}

/// A password from the environment variable `env`, else from the shell
/// command `command` (its first line of output; `key` names it in errors,
/// `timeout_key` the setting that bounds it). Shared by SMTP and IMAP.
pub fn password_from(
    env: &str,
    command: Option<&str>,
    key: &str,
    timeout_key: &str,
    timeout: Duration,
) -> Result<Secret> {
    if let Ok(p) = std::env::var(env) {
        if !p.is_empty() {
            return Ok(Secret(p));
        }
    }
    let Some(cmd) = command else {
        return Err(Error::Usage(format!(
            "a user name is set but there is no password: export {env} or set {key}"
        )));
    };
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(|e| Error::Usage(format!("{key} could not run: {e}")))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    // Read on a thread, so a command printing much cannot block on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut out).map(|_| out)
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                // The whole process group: `sh -c` and whatever it started.
                #[cfg(unix)]
                // SAFETY: kill(2) on the group we created above; no memory is touched.
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Usage(format!(
                    "{key} did not finish within {} s ({timeout_key}); it was stopped. \
                     Check that it does not wait for input (it gets no terminal)",
                    timeout.as_secs_f64()
                )));
            }
            Err(e) => return Err(Error::Usage(format!("{key} could not be waited for: {e}"))),
        }
    };
    let stdout = reader
        .join()
        .ok()
        .and_then(|r| r.ok())
        .ok_or_else(|| Error::Usage(format!("{key}: its output could not be read")))?;
    if !status.success() {
        return Err(Error::Usage(format!(
            "{key} failed ({status}); its output is not shown"
        )));
    }
    let text = String::from_utf8(stdout)
        .map_err(|_| Error::Usage(format!("{key} printed something that is not UTF-8")))?;
    let p = text.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        return Err(Error::Usage(format!("{key} printed nothing")));
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
        let e = settings("smtp://bob:S3cret-hunter2@mail.example.com:587")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("never put the password") && !e.contains("S3cret"),
            "{e}"
        );
        assert!(e.contains("smtp://bob:***@mail.example.com:587"), "{e}");
    }

    #[test]
    fn a_url_without_a_scheme_suggests_one() {
        for raw in ["127.0.0.1:2526", "localhost:2525"] {
            let e = settings(raw).unwrap_err().to_string();
            assert!(e.contains(&format!("write smtp://{raw} ")), "{e}");
        }
    }

    #[test]
    fn masking() {
        assert_eq!(mask_password("smtp://a:b@h/x@y"), "smtp://a:***@h/x@y");
        assert_eq!(mask_password("smtp://a@h"), "smtp://a@h");
        assert_eq!(mask_password("smtp://h:25"), "smtp://h:25");
        assert_eq!(mask_password("a:b@c"), "a:b@c");
    }

    #[test]
    fn a_hanging_password_command_is_stopped() {
        if std::env::var_os(PASSWORD_ENV).is_some() {
            return; // the environment's password wins; nothing to test here
        }
        let smtp = Smtp {
            password_command: Some("sleep 30; echo late".into()),
            ..Smtp::default()
        };
        let t = std::time::Instant::now();
        let e = password(&smtp, Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(e.contains("did not finish within 0.3 s"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        let smtp = Smtp {
            password_command: Some("printf 'pw\\n'".into()),
            ..Smtp::default()
        };
        assert_eq!(password(&smtp, Duration::from_secs(5)).unwrap().0, "pw");
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "<hidden>");
    }
}
