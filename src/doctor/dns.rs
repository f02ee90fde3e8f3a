//! DNS lookups for `doctor`, through hickory-resolver: the system resolver,
//! or one given server (`--dns ADDR:PORT`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::{ResolveError, TokioResolver};

use crate::error::{Error, Result};

/// A resolver that tells "no such record" apart from "could not ask".
pub struct Dns {
    resolver: TokioResolver,
    /// Where queries go, for messages.
    pub server: String,
}

/// What a lookup found.
pub type Answer<T> = std::result::Result<Vec<T>, String>;

impl Dns {
    /// Queries `server` only, or the system's resolvers when `None`.
    pub fn new(server: Option<SocketAddr>) -> Result<Dns> {
        let mut opts = ResolverOpts::default();
        opts.timeout = Duration::from_secs(5);
        opts.attempts = 2;
        opts.cache_size = 256;
        let (builder, name) = match server {
            Some(addr) => {
                let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                (
                    TokioResolver::builder_with_config(
                        ResolverConfig::from_parts(None, Vec::new(), group),
                        TokioConnectionProvider::default(),
                    ),
                    addr.to_string(),
                )
            }
            None => (
                TokioResolver::builder_tokio().map_err(|e| {
                    Error::Usage(format!(
                        "cannot read the system's DNS configuration (/etc/resolv.conf): {e}; pass --dns ADDR:PORT"
                    ))
                })?,
                "the system resolver".to_string(),
            ),
        };
        Ok(Dns {
            resolver: builder.with_options(opts).build(),
            server: name,
        })
    }

    /// The TXT records at `name`, each record's strings joined (RFC 7208 §3.3).
    pub async fn txt(&self, name: &str) -> Answer<String> {
        match self.resolver.txt_lookup(fqdn(name)).await {
            Ok(found) => Ok(found
                .iter()
                .map(|txt| {
                    txt.txt_data()
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect::<String>()
                })
                .collect()),
            Err(e) => none_or(e, &self.server),
        }
    }

    /// The MX hosts of `name`, by preference.
    pub async fn mx(&self, name: &str) -> Answer<String> {
        match self.resolver.mx_lookup(fqdn(name)).await {
            Ok(found) => {
                let mut mx: Vec<(u16, String)> = found
                    .iter()
                    .map(|m| {
                        (
                            m.preference(),
                            m.exchange().to_utf8().trim_end_matches('.').to_string(),
                        )
                    })
                    .collect();
                mx.sort();
                Ok(mx.into_iter().map(|(_, h)| h).collect())
            }
            Err(e) => none_or(e, &self.server),
        }
    }

    /// The A and AAAA addresses of `name` (or `name` itself if it is an address).
    pub async fn ips(&self, name: &str) -> Answer<IpAddr> {
        if let Ok(ip) = name.trim_matches(['[', ']']).parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        match self.resolver.lookup_ip(fqdn(name)).await {
            Ok(found) => Ok(found.iter().collect()),
            Err(e) => none_or(e, &self.server),
        }
    }
}

/// Absolute names, so no search domain is tried.
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// An empty answer for "no such name / no such record"; an error otherwise.
fn none_or<T>(e: ResolveError, server: &str) -> Answer<T> {
    if e.is_no_records_found() || e.is_nx_domain() {
        Ok(Vec::new())
    } else {
        Err(format!("the DNS query to {server} failed: {e}"))
    }
}
