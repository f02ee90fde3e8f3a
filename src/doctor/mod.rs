//! `letterpress doctor`: will the mail be accepted? Checks the sender's DNS
//! (SPF, DKIM, DMARC, MX), the unsubscribe endpoint, the unsubscribe secret
//! and TLS on the relay, each as a [`Check`] that passes, warns or fails with
//! the fix.
//!
//! ```text
//!  letterpress.toml ─▶ doctor::run ─┬─ dns (hickory-resolver) ─▶ SPF, DKIM, DMARC, MX
//!                                   ├─ net::http_get ───────────▶ unsubscribe URL, /healthz
//!                                   └─ send::smtp::Connection ──▶ STARTTLS / implicit TLS
//!                                   ─▶ Report (checks; failures Gmail/Outlook.com enforce)
//! ```
//!
//! Since 2024 (Gmail, Yahoo) and 2025 (Outlook.com, `550 5.7.515`) bulk mail
//! without SPF, DKIM, an aligned DMARC record, TLS and one-click unsubscribe
//! is rejected: such a check has `Check::enforced` set, its failure is counted, and
//! `doctor` exits non-zero.

pub mod dns;
pub mod net;
pub mod records;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use crate::config::Config;
use crate::error::Result;
use dns::Dns;
use records::{
    aligned, in_network, organisational_domain, DkimRecord, Dmarc, Mechanism, Qualifier, Spf,
};

/// The smallest unsubscribe secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// RFC 7208's limit on DNS-querying SPF terms.
const SPF_LOOKUP_LIMIT: u32 = 10;

/// How `doctor` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Ask this DNS server instead of the system's resolvers.
    pub dns: Option<SocketAddr>,
    /// The limit for each network probe.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dns: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fine.
    Pass,
    /// Worth a look, or cannot be known from here.
    Warn,
    /// Broken.
    Fail,
}

impl Status {
    /// `pass`, `warn` or `fail`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Check {
    /// Short name: `spf`, `dkim`, `dmarc`, `mx`, `unsubscribe`, `listen`, `secret`, `tls`.
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub summary: String,
    /// What to change, when it is not a pass.
    pub fix: Option<String>,
    /// Gmail or Outlook.com reject bulk mail when this fails.
    pub enforced: bool,
}

impl Check {
    fn new(name: &'static str, status: Status, summary: impl Into<String>) -> Check {
        Check {
            name,
            status,
            summary: summary.into(),
            fix: None,
            enforced: false,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }

    fn enforced(mut self) -> Check {
        self.enforced = true;
        self
    }
}

/// Every check, in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The findings.
    pub checks: Vec<Check>,
}

impl Report {
    /// The failed checks that Gmail or Outlook.com enforce.
    pub fn enforced_failures(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail && c.enforced)
    }

    /// The check called `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// Runs every check for `config`'s sender.
pub async fn run(config: &Config, opts: &Options) -> Result<Report> {
    let dns = Dns::new(opts.dns)?;
    let from = config.from_mailbox();
    let from_domain = from.email.domain().to_ascii_lowercase();
    // letterpress's envelope sender is the From address: bounces go there.
    let return_path = from_domain.clone();
    let mut report = Report::default();
    report
        .checks
        .push(spf(&dns, &return_path, config.smtp.url.as_deref()).await);
    report.checks.push(dkim(&dns, config).await);
    report.checks.push(dmarc(&dns, config, &from_domain).await);
    report.checks.push(mx(&dns, &return_path).await);
    if let Some(public_url) = &config.listen.public_url {
        let url = format!("{}/unsubscribe/{{token}}", public_url.trim_end_matches('/'));
        let (unsub, origin) = unsubscribe(&url, opts.timeout).await;
        report.checks.push(unsub);
        if origin.is_some() {
            let base = public_url.trim_end_matches('/');
            report.checks.push(listen(base, opts.timeout).await);
        }
    } else {
        report.checks.push(
            Check::new(
                "unsubscribe",
                Status::Fail,
                "no unsubscribe URL: Gmail, Yahoo and Outlook.com require one-click unsubscribe (RFC 8058) for bulk mail",
            )
            .fix("set public_url in [listen] in letterpress.toml to the https URL where `letterpress listen` is reachable, e.g. \"https://news.example\"")
            .enforced(),
        );
    }
    report.checks.push(secret(config));
    report.checks.push(tls(config, &from_domain).await);
    Ok(report)
}

/// The relay's host from an SMTP URL, and the URL.
fn relay_host(raw: &str) -> Option<(String, String)> {
    let url = url::Url::parse(raw).ok()?;
    Some((
        url.host_str()?.trim_matches(['[', ']']).to_string(),
        raw.to_string(),
    ))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// SPF: a record exists at `domain`, parses, stays within 10 lookups, and
/// authorises the addresses of the relay at `relay_url` (an `smtp://` URL).
pub async fn spf(dns: &Dns, domain: &str, relay_url: Option<&str>) -> Check {
    let relay = relay_url.and_then(relay_host);
    let relay = relay.as_ref();
    let example = format!("\"v=spf1 include:<your relay's SPF domain> ~all\" (or ip4:<relay address>) as TXT at {domain}");
    let records = match spf_records(dns, domain).await {
        Ok(r) => r,
        Err(e) => return Check::new("spf", Status::Fail, e).enforced(),
    };
    let record = match records.as_slice() {
        [] => {
            return Check::new("spf", Status::Fail, format!("no SPF record at {domain}"))
                .fix(format!("publish {example}"))
                .enforced()
        }
        [one] => one.clone(),
        many => {
            return Check::new(
                "spf",
                Status::Fail,
                format!(
                    "{} SPF records at {domain}; receivers treat that as a permanent error",
                    many.len()
                ),
            )
            .fix("merge them into one v=spf1 record")
            .enforced()
        }
    };
    let spf = match Spf::parse(&record).expect("filtered to SPF") {
        Ok(s) => s,
        Err(e) => {
            return Check::new(
                "spf",
                Status::Fail,
                format!("the SPF record at {domain} is invalid: {e}"),
            )
            .fix(format!("fix the record {record:?}"))
            .enforced()
        }
    };
    let Some((host, url)) = relay else {
        return Check::new("spf", Status::Warn, format!("SPF record at {domain}: {record:?}; no relay is configured ([smtp] url), so doctor cannot say whether it is authorised"));
    };
    let ips = if is_loopback(host) {
        Vec::new()
    } else {
        match dns.ips(host).await {
            Ok(ips) if !ips.is_empty() => ips,
            Ok(_) => {
                return Check::new(
                    "spf",
                    Status::Warn,
                    format!("SPF record at {domain}; the relay {host} has no address in DNS"),
                )
                .fix(format!("check the host in [smtp] url ({url})"))
            }
            Err(e) => return Check::new("spf", Status::Warn, e),
        }
    };
    let mut lookups = 0;
    // Evaluate for one address even for a loopback relay, to find errors
    // and count lookups.
    let probe = ips.first().copied().unwrap_or(IpAddr::from([192, 0, 2, 1]));
    let mut verdicts = Vec::new();
    for ip in if ips.is_empty() {
        vec![probe]
    } else {
        ips.clone()
    } {
        match evaluate(dns, domain.to_string(), spf.clone(), ip, &mut lookups, 0).await {
            Ok(v) => verdicts.push((ip, v)),
            Err(e) => {
                return Check::new("spf", Status::Fail, format!("the SPF record at {domain} cannot be evaluated: {e}"))
                    .fix("keep the record to 10 DNS-querying terms (include, a, mx, exists, redirect) and make every include resolve")
                    .enforced()
            }
        }
    }
    if ips.is_empty() {
        return Check::new(
            "spf",
            Status::Warn,
            format!(
                "SPF record at {domain} ({lookups} lookups): {record:?}; the relay {url} is on this machine and forwards the mail, so doctor cannot know which server's address the record must authorise"
            ),
        )
        .fix("make sure the record lists the server that finally hands the mail to Gmail or Outlook.com (your provider's include: or its ip4:)");
    }
    let listed: Vec<String> = verdicts
        .iter()
        .filter(|(_, v)| *v == Some(Qualifier::Pass))
        .map(|(ip, _)| ip.to_string())
        .collect();
    if listed.len() == verdicts.len() {
        Check::new(
            "spf",
            Status::Pass,
            format!(
                "SPF record at {domain} authorises the relay {host} ({}); {lookups} of 10 lookups",
                listed.join(", ")
            ),
        )
    } else {
        let missing: Vec<String> = verdicts
            .iter()
            .filter(|(_, v)| *v != Some(Qualifier::Pass))
            .map(|(ip, _)| ip.to_string())
            .collect();
        Check::new(
            "spf",
            Status::Warn,
            format!(
                "the SPF record at {domain} does not authorise the relay {host} ({}); a submission relay often sends from other addresses, so this may still be fine",
                missing.join(", ")
            ),
        )
        .fix(format!("add the relay provider's include: (or ip4:{}) to {record:?}", missing[0]))
    }
}

async fn spf_records(dns: &Dns, domain: &str) -> std::result::Result<Vec<String>, String> {
    Ok(dns
        .txt(domain)
        .await?
        .into_iter()
        .filter(|t| Spf::parse(t).is_some())
        .collect())
}

type Verdict<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<Option<Qualifier>, String>> + Send + 'a>>;

/// RFC 7208 `check_host`, for what a relay's address needs: the qualifier
/// of the first mechanism that matches `ip`, or `None`.
fn evaluate<'a>(
    dns: &'a Dns,
    domain: String,
    spf: Spf,
    ip: IpAddr,
    lookups: &'a mut u32,
    depth: u32,
) -> Verdict<'a> {
    Box::pin(async move {
        if depth > SPF_LOOKUP_LIMIT {
            return Err("include loop".into());
        }
        let count = |lookups: &mut u32| -> std::result::Result<(), String> {
            *lookups += 1;
            if *lookups > SPF_LOOKUP_LIMIT {
                Err("more than 10 DNS lookups (permerror)".into())
            } else {
                Ok(())
            }
        };
        for (qualifier, mechanism) in &spf.terms {
            let matched = match mechanism {
                Mechanism::All => true,
                Mechanism::Ip(net, len) => in_network(ip, *net, *len),
                Mechanism::A(target, len) => {
                    count(lookups)?;
                    let name = target.clone().unwrap_or_else(|| domain.clone());
                    dns.ips(&name).await?.iter().any(|a| {
                        in_network(ip, *a, len.unwrap_or(if a.is_ipv4() { 32 } else { 128 }))
                    })
                }
                Mechanism::Mx(target, len) => {
                    count(lookups)?;
                    let name = target.clone().unwrap_or_else(|| domain.clone());
                    let mut hit = false;
                    for host in dns.mx(&name).await? {
                        if dns.ips(&host).await?.iter().any(|a| {
                            in_network(ip, *a, len.unwrap_or(if a.is_ipv4() { 32 } else { 128 }))
                        }) {
                            hit = true;
                            break;
                        }
                    }
                    hit
                }
                Mechanism::Include(target) => {
                    count(lookups)?;
                    let records = spf_records(dns, target).await?;
                    let [record] = records.as_slice() else {
                        return Err(format!(
                            "include:{target} has {} SPF records",
                            records.len()
                        ));
                    };
                    let inner = Spf::parse(record)
                        .expect("filtered to SPF")
                        .map_err(|e| format!("include:{target}: {e}"))?;
                    evaluate(dns, target.clone(), inner, ip, lookups, depth + 1).await?
                        == Some(Qualifier::Pass)
                }
                Mechanism::Other(_) => {
                    count(lookups)?;
                    false
                }
            };
            if matched {
                return Ok(Some(*qualifier));
            }
        }
        if let Some(target) = &spf.redirect {
            count(lookups)?;
            let records = spf_records(dns, target).await?;
            let [record] = records.as_slice() else {
                return Err(format!(
                    "redirect={target} has {} SPF records",
                    records.len()
                ));
            };
            let inner = Spf::parse(record)
                .expect("filtered to SPF")
                .map_err(|e| format!("redirect={target}: {e}"))?;
            return evaluate(dns, target.clone(), inner, ip, lookups, depth + 1).await;
        }
        Ok(None)
    })
}

/// DKIM: the record at `<selector>._domainkey.<domain>` holds the public
/// half of the configured private key.
async fn dkim(dns: &Dns, config: &Config) -> Check {
    let Some(dkim) = &config.dkim else {
        return Check::new("dkim", Status::Fail, "DKIM signing is not configured: Gmail and Outlook.com reject unsigned bulk mail")
            .fix("create a key (openssl genpkey -algorithm ed25519 -out dkim.pem, or openssl genrsa -out dkim.pem 2048), add [dkim] domain, selector, algorithm and private_key to letterpress.toml, then run doctor again for the record to publish")
            .enforced();
    };
    let key_path = config.resolve(&dkim.private_key);
    let public = match crate::send::dkim::public_key(dkim, &key_path) {
        Ok(p) => p,
        Err(e) => return Check::new("dkim", Status::Fail, e.to_string()).enforced(),
    };
    let name = format!("{}._domainkey.{}", dkim.selector, dkim.domain);
    let publish = format!("publish a TXT record at {name}: \"{}\"", public.record());
    let found = match dns.txt(&name).await {
        Ok(f) => f,
        Err(e) => return Check::new("dkim", Status::Fail, e).enforced(),
    };
    if found.is_empty() {
        return Check::new(
            "dkim",
            Status::Fail,
            format!("no DKIM key record at {name}"),
        )
        .fix(publish)
        .enforced();
    }
    let mut seen = Vec::new();
    for txt in &found {
        match DkimRecord::parse(txt) {
            Ok(r) if r.key.is_empty() => seen.push("a revoked key (empty p=)".to_string()),
            Ok(r) => {
                let same = r.algorithm == public.algorithm
                    && (r.key == public.der || public.pkcs1.as_ref() == Some(&r.key));
                if same {
                    return Check::new(
                        "dkim",
                        Status::Pass,
                        format!(
                            "{name} holds the public key of {} ({})",
                            key_path.display(),
                            public.algorithm
                        ),
                    );
                }
                seen.push(format!(
                    "another key (k={}, {} bytes)",
                    r.algorithm,
                    r.key.len()
                ));
            }
            Err(e) => seen.push(format!("an invalid record ({e})")),
        }
    }
    Check::new(
        "dkim",
        Status::Fail,
        format!(
            "{name} holds {} instead of the public key of {}: signatures will not verify",
            seen.join(" and "),
            key_path.display()
        ),
    )
    .fix(publish)
    .enforced()
}

/// DMARC: a record exists (at the From domain or its organisational
/// domain) and DKIM or SPF aligns with the From domain.
async fn dmarc(dns: &Dns, config: &Config, from: &str) -> Check {
    let mut names = vec![format!("_dmarc.{from}")];
    let org = organisational_domain(from);
    if org != from {
        names.push(format!("_dmarc.{org}"));
    }
    let mut found = None;
    for name in &names {
        match dns.txt(name).await {
            Ok(txts) => {
                if let Some(t) = txts.into_iter().find_map(|t| Dmarc::parse(&t)) {
                    found = Some((name.clone(), t));
                    break;
                }
            }
            Err(e) => return Check::new("dmarc", Status::Fail, e).enforced(),
        }
    }
    let Some((name, parsed)) = found else {
        return Check::new("dmarc", Status::Fail, format!("no DMARC record at {}", names.join(" or ")))
            .fix(format!("publish a TXT record at _dmarc.{from}: \"v=DMARC1; p=none; rua=mailto:dmarc@{from}\" (p=none to start; quarantine once reports look clean)"))
            .enforced();
    };
    let policy = match parsed {
        Ok(p) => p,
        Err(e) => {
            return Check::new(
                "dmarc",
                Status::Fail,
                format!("the DMARC record at {name} is invalid: {e}"),
            )
            .fix("write it as \"v=DMARC1; p=none; rua=mailto:…\"")
            .enforced()
        }
    };
    let dkim_aligned = config
        .dkim
        .as_ref()
        .is_some_and(|d| aligned(&d.domain, from, policy.strict_dkim));
    // The envelope sender is the From address, so SPF's domain is From's.
    let spf_aligned = aligned(from, from, policy.strict_spf);
    let mode = |strict: bool| if strict { "strict" } else { "relaxed" };
    let dkim_note = match &config.dkim {
        Some(d) => format!(
            "DKIM d={} {} ({})",
            d.domain,
            if dkim_aligned {
                "aligns"
            } else {
                "does not align"
            },
            mode(policy.strict_dkim)
        ),
        None => "no DKIM".into(),
    };
    let summary = format!(
        "{name}: p={}; {dkim_note}; SPF (return path {from}) {} with From {from}",
        policy.policy,
        if spf_aligned {
            "aligns"
        } else {
            "does not align"
        }
    );
    if !dkim_aligned && !spf_aligned {
        Check::new("dmarc", Status::Fail, summary)
            .fix(format!("sign with dkim.domain = \"{from}\""))
            .enforced()
    } else if !dkim_aligned {
        Check::new("dmarc", Status::Warn, summary).fix(format!(
            "sign with a DKIM domain under {org} so DMARC passes when SPF breaks in forwarding"
        ))
    } else {
        Check::new("dmarc", Status::Pass, summary)
    }
}

/// MX: bounces can reach the return-path domain.
async fn mx(dns: &Dns, domain: &str) -> Check {
    match dns.mx(domain).await {
        Ok(hosts) if !hosts.is_empty() => {
            Check::new("mx", Status::Pass, format!("{domain} receives mail (bounces) at {}", hosts.join(", ")))
        }
        Ok(_) => match dns.ips(domain).await {
            Ok(ips) if !ips.is_empty() => Check::new(
                "mx",
                Status::Warn,
                format!("{domain} has no MX record; bounces go to its address record ({})", ips[0]),
            )
            .fix(format!("publish an MX record for {domain} pointing at a server that accepts bounces")),
            Ok(_) => Check::new("mx", Status::Fail, format!("{domain} has no MX or address record: bounces cannot come back, and many receivers refuse such senders"))
                .fix(format!("publish an MX record for {domain}")),
            Err(e) => Check::new("mx", Status::Fail, e),
        },
        Err(e) => Check::new("mx", Status::Fail, e),
    }
}

/// The unsubscribe URL answers (a made-up token gets any non-5xx reply),
/// over https, with no address in it. Returns the check and the URL's origin.
async fn unsubscribe(template: &str, timeout: Duration) -> (Check, Option<String>) {
    let url = template.replace("{token}", "letterpress-doctor-probe");
    let parsed = match url::Url::parse(&url) {
        Ok(u) => u,
        Err(e) => {
            return (
                Check::new(
                    "unsubscribe",
                    Status::Fail,
                    format!("listen.public_url gives {template:?}, not a URL: {e}"),
                )
                .fix("write it as https://host (or https://host/path)")
                .enforced(),
                None,
            )
        }
    };
    let origin = parsed.origin().ascii_serialization();
    let host = parsed
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_string();
    if parsed.scheme() != "https" && !is_loopback(&host) {
        return (
            Check::new(
                "unsubscribe",
                Status::Fail,
                format!("{template} is not https: one-click unsubscribe (RFC 8058) needs https"),
            )
            .fix("serve it over https")
            .enforced(),
            Some(origin),
        );
    }
    let answer = net::http_get(&url, timeout).await;
    let check = match answer {
        Err(e) => Check::new(
            "unsubscribe",
            Status::Fail,
            format!("the unsubscribe URL does not answer: {e}"),
        )
        .fix("run `letterpress listen` behind that host, or fix listen.public_url")
        .enforced(),
        Ok(a) if a.status >= 500 => Check::new(
            "unsubscribe",
            Status::Fail,
            format!("{origin} answers a made-up token with {:?}", a.line),
        )
        .fix("look at the server's log")
        .enforced(),
        Ok(a) if parsed.scheme() != "https" => Check::new(
            "unsubscribe",
            Status::Warn,
            format!(
                "{origin} answers (HTTP {}), in plain http (allowed on loopback only, for testing)",
                a.status
            ),
        )
        .fix("serve it over https for real sends"),
        Ok(a) => Check::new(
            "unsubscribe",
            Status::Pass,
            format!("{origin} answers a made-up token with HTTP {}", a.status),
        ),
    };
    (check, Some(origin))
}

/// `letterpress listen` answers `GET /healthz` with 200 at `[listen] public_url`.
async fn listen(base: &str, timeout: Duration) -> Check {
    let url = format!("{base}/healthz");
    let note = "at [listen] public_url";
    match net::http_get(&url, timeout).await {
        Ok(a) if a.status == 200 => Check::new("listen", Status::Pass, format!("{url} answers 200 ({note})")),
        Ok(a) => Check::new("listen", Status::Warn, format!("{url} answers {:?}, not 200 ({note})", a.line))
            .fix("if `letterpress listen` serves unsubscribes, put it behind this host; otherwise ignore this"),
        Err(e) => Check::new("listen", Status::Warn, format!("{e} ({note})"))
            .fix("start `letterpress listen` where the unsubscribe URL points"),
    }
}

/// The unsubscribe-token secret is set and at least 32 bytes long.
fn secret(config: &Config) -> Check {
    let var = &config.unsubscribe.secret_env;
    // Every message carries a token URL and a keyed Message-ID: send needs it.
    let needed = true;
    let fix = format!("export {var}=\"$(openssl rand -hex 32)\" (keep it stable and out of git)");
    match std::env::var(var) {
        Ok(s) if s.len() >= MIN_SECRET_BYTES => {
            Check::new("secret", Status::Pass, format!("${var} is set ({} bytes)", s.len()))
        }
        Ok(s) if !s.is_empty() => Check::new(
            "secret",
            Status::Fail,
            format!("${var} is {} bytes; unsubscribe tokens need at least {MIN_SECRET_BYTES} so nobody can forge them", s.len()),
        )
        .fix(fix),
        _ => Check::new(
            "secret",
            if needed { Status::Fail } else { Status::Warn },
            format!("${var} is not set{}", if needed { "; send cannot sign unsubscribe tokens" } else { "" }),
        )
        .fix(fix),
    }
}

/// TLS on the relay: STARTTLS offered (smtp://) or implicit TLS (smtps://),
/// with a certificate that verifies (against `smtp.ca_file` when set).
async fn tls(config: &Config, from_domain: &str) -> Check {
    use crate::send::smtp::{Connection, Security, SmtpSettings};
    let Some(url) = config.smtp.url.as_deref() else {
        return Check::new("tls", Status::Warn, "no relay configured ([smtp] url)")
            .fix("set url in [smtp]");
    };
    let mut settings = match SmtpSettings::new(&config.smtp, None, false, from_domain, &config.root)
    {
        Ok(s) => s,
        Err(e) => return Check::new("tls", Status::Fail, e.to_string()).enforced(),
    };
    // Ask for TLS even on loopback, where send would allow plaintext.
    settings.loopback = false;
    settings.allow_plaintext = false;
    let how = match settings.security {
        Security::ImplicitTls => "implicit TLS",
        Security::StartTls => "STARTTLS offered",
    };
    match Connection::open(&settings).await {
        Ok(c) => {
            c.quit().await;
            Check::new("tls", Status::Pass, format!("{url}: {how}, certificate valid"))
        }
        Err(f) => Check::new("tls", Status::Fail, format!("{url}: {}", f.describe()))
            .fix("use a relay that offers STARTTLS (smtp://host:587) or implicit TLS (smtps://host:465) with a valid certificate; for a private CA set smtp.ca_file")
            .enforced(),
    }
}
