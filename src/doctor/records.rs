//! The DNS records mail authentication rests on, parsed: SPF (RFC 7208),
//! DKIM key records (RFC 6376, RFC 8463) and DMARC (RFC 7489). Pure
//! functions, so the tests call them with strings.

use std::net::IpAddr;

/// One SPF mechanism (modifiers other than `redirect=` are ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `all`.
    All,
    /// `ip4:`/`ip6:` network and prefix length.
    Ip(IpAddr, u8),
    /// `a[:domain][/len]`: the addresses of the domain (default: the record's own).
    A(Option<String>, Option<u8>),
    /// `mx[:domain][/len]`.
    Mx(Option<String>, Option<u8>),
    /// `include:domain`.
    Include(String),
    /// `exists:`, `ptr`: counted, not evaluated.
    Other(String),
}

/// `+` pass, `-` fail, `~` softfail, `?` neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// `+` (the default).
    Pass,
    /// `-`.
    Fail,
    /// `~`.
    SoftFail,
    /// `?`.
    Neutral,
}

/// A parsed `v=spf1` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spf {
    /// The mechanisms in order.
    pub terms: Vec<(Qualifier, Mechanism)>,
    /// `redirect=domain`.
    pub redirect: Option<String>,
}

impl Spf {
    /// Parses a TXT record's text; `None` when it is not SPF at all,
    /// `Some(Err)` for an SPF record with a syntax error.
    pub fn parse(txt: &str) -> Option<Result<Spf, String>> {
        let mut words = txt.split_ascii_whitespace();
        if !words.next()?.eq_ignore_ascii_case("v=spf1") {
            return None;
        }
        Some(Spf::parse_terms(words))
    }

    fn parse_terms<'a>(words: impl Iterator<Item = &'a str>) -> Result<Spf, String> {
        let mut spf = Spf {
            terms: Vec::new(),
            redirect: None,
        };
        for word in words {
            if let Some(target) = word.strip_prefix("redirect=") {
                spf.redirect = Some(target.to_string());
                continue;
            }
            if word.contains('=') {
                continue; // exp= and unknown modifiers
            }
            let (qualifier, rest) = match word.as_bytes()[0] {
                b'+' => (Qualifier::Pass, &word[1..]),
                b'-' => (Qualifier::Fail, &word[1..]),
                b'~' => (Qualifier::SoftFail, &word[1..]),
                b'?' => (Qualifier::Neutral, &word[1..]),
                _ => (Qualifier::Pass, word),
            };
            let lower = rest.to_ascii_lowercase();
            let (name, arg) = match lower.split_once(':') {
                Some((n, a)) => (n.to_string(), Some(a.to_string())),
                None => match lower.split_once('/') {
                    Some((n, _)) => (n.to_string(), None),
                    None => (lower.clone(), None),
                },
            };
            let prefix = |s: &str| -> Result<Option<u8>, String> {
                match s.rsplit_once('/') {
                    Some((_, len)) => len
                        .parse()
                        .map(Some)
                        .map_err(|_| format!("bad prefix length in `{word}`")),
                    None => Ok(None),
                }
            };
            let domain_arg = |a: &Option<String>| {
                a.as_ref()
                    .map(|a| a.split('/').next().unwrap_or(a).to_string())
            };
            let mechanism = match name.as_str() {
                "all" => Mechanism::All,
                "ip4" | "ip6" => {
                    let arg = arg.ok_or_else(|| format!("`{word}` needs an address"))?;
                    let (addr, len) = arg.split_once('/').unwrap_or((&arg, ""));
                    let ip: IpAddr = addr
                        .parse()
                        .map_err(|_| format!("`{word}`: `{addr}` is not an IP address"))?;
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    let len = if len.is_empty() {
                        max
                    } else {
                        len.parse()
                            .ok()
                            .filter(|l| *l <= max)
                            .ok_or_else(|| format!("`{word}`: bad prefix length"))?
                    };
                    Mechanism::Ip(ip, len)
                }
                "a" => Mechanism::A(domain_arg(&arg), prefix(&lower)?),
                "mx" => Mechanism::Mx(domain_arg(&arg), prefix(&lower)?),
                "include" => {
                    Mechanism::Include(arg.ok_or_else(|| format!("`{word}` needs a domain"))?)
                }
                "exists" | "ptr" => Mechanism::Other(name),
                _ => return Err(format!("unknown SPF mechanism `{word}`")),
            };
            spf.terms.push((qualifier, mechanism));
        }
        Ok(spf)
    }
}

/// True when `ip` is inside `net/len`.
pub fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// A parsed DKIM key record (`v=DKIM1; k=…; p=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimRecord {
    /// `k=`, lowercased; `rsa` when absent.
    pub algorithm: String,
    /// `p=`, base64-decoded; empty for a revoked key.
    pub key: Vec<u8>,
}

impl DkimRecord {
    /// Parses the record text (the TXT strings joined).
    pub fn parse(txt: &str) -> Result<DkimRecord, String> {
        use base64::Engine as _;
        let tags = tags(txt);
        if let Some(v) = tag(&tags, "v") {
            if v != "DKIM1" {
                return Err(format!("v={v}: a DKIM key record starts with v=DKIM1"));
            }
        }
        let algorithm = tag(&tags, "k").unwrap_or("rsa").to_ascii_lowercase();
        let p = tag(&tags, "p").ok_or("the record has no p= (public key) tag")?;
        let compact: String = p.split_ascii_whitespace().collect();
        let key = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| format!("p= is not base64: {e}"))?;
        Ok(DkimRecord { algorithm, key })
    }
}

/// The DMARC policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dmarc {
    /// `p=`: none, quarantine or reject.
    pub policy: String,
    /// `adkim=s`: the DKIM domain must equal the From domain.
    pub strict_dkim: bool,
    /// `aspf=s`: the return-path domain must equal the From domain.
    pub strict_spf: bool,
}

impl Dmarc {
    /// Parses a TXT record's text; `None` when it is not DMARC.
    pub fn parse(txt: &str) -> Option<Result<Dmarc, String>> {
        let tags = tags(txt);
        if tag(&tags, "v")? != "DMARC1" {
            return None;
        }
        let Some(policy) = tag(&tags, "p") else {
            return Some(Err("the record has no p= policy".into()));
        };
        let policy = policy.to_ascii_lowercase();
        if !matches!(policy.as_str(), "none" | "quarantine" | "reject") {
            return Some(Err(format!("p={policy}: use none, quarantine or reject")));
        }
        Some(Ok(Dmarc {
            policy,
            strict_dkim: tag(&tags, "adkim").is_some_and(|v| v.eq_ignore_ascii_case("s")),
            strict_spf: tag(&tags, "aspf").is_some_and(|v| v.eq_ignore_ascii_case("s")),
        }))
    }
}

/// `a=b; c=d` tag lists, trimmed.
fn tags(txt: &str) -> Vec<(String, String)> {
    txt.split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The organisational domain, approximately: the last two labels (the
/// last three under a two-letter country code with a short second level,
/// as in `example.co.uk`). Without the Public Suffix List this is a
/// heuristic, used only for relaxed alignment and the DMARC fallback.
pub fn organisational_domain(domain: &str) -> String {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let n = labels.len();
    let keep = if n >= 3 && labels[n - 1].len() == 2 && labels[n - 2].len() <= 3 {
        3
    } else {
        2
    };
    labels[n.saturating_sub(keep)..].join(".")
}

/// DMARC identifier alignment of `domain` with the From domain.
pub fn aligned(domain: &str, from: &str, strict: bool) -> bool {
    let (d, f) = (
        domain.trim_end_matches('.').to_ascii_lowercase(),
        from.trim_end_matches('.').to_ascii_lowercase(),
    );
    if strict {
        d == f
    } else {
        organisational_domain(&d) == organisational_domain(&f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spf_parses_mechanisms_and_rejects_junk() {
        let spf = Spf::parse("v=spf1 ip4:192.0.2.0/24 a mx:mail.example.com/24 include:_spf.example.net ~all redirect=x.example")
            .unwrap()
            .unwrap();
        assert_eq!(
            spf.terms[0],
            (
                Qualifier::Pass,
                Mechanism::Ip("192.0.2.0".parse().unwrap(), 24)
            )
        );
        assert_eq!(spf.terms[1], (Qualifier::Pass, Mechanism::A(None, None)));
        assert_eq!(
            spf.terms[2],
            (
                Qualifier::Pass,
                Mechanism::Mx(Some("mail.example.com".into()), Some(24))
            )
        );
        assert_eq!(spf.terms[4], (Qualifier::SoftFail, Mechanism::All));
        assert_eq!(spf.redirect.as_deref(), Some("x.example"));
        assert!(Spf::parse("google-site-verification=abc").is_none());
        assert!(Spf::parse("v=spf1 ip4:300.1.1.1 -all").unwrap().is_err());
        assert!(Spf::parse("v=spf1 bogus -all").unwrap().is_err());
    }

    #[test]
    fn networks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_network(ip("192.0.2.77"), ip("192.0.2.0"), 24));
        assert!(!in_network(ip("192.0.3.1"), ip("192.0.2.0"), 24));
        assert!(in_network(ip("10.1.2.3"), ip("0.0.0.0"), 0));
        assert!(in_network(ip("2001:db8::5"), ip("2001:db8::"), 32));
        assert!(!in_network(ip("2001:db8::5"), ip("192.0.2.0"), 0));
    }

    #[test]
    fn dkim_and_dmarc_records() {
        let r =
            DkimRecord::parse("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
                .unwrap();
        assert_eq!(r.algorithm, "ed25519");
        assert_eq!(r.key.len(), 32);
        assert_eq!(DkimRecord::parse("p=").unwrap().key, Vec::<u8>::new());
        assert!(DkimRecord::parse("v=DKIM1; k=rsa").is_err());
        let d = Dmarc::parse("v=DMARC1; p=quarantine; adkim=s; rua=mailto:d@example.com")
            .unwrap()
            .unwrap();
        assert_eq!(d.policy, "quarantine");
        assert!(d.strict_dkim && !d.strict_spf);
        assert!(Dmarc::parse("v=spf1 -all").is_none());
        assert!(Dmarc::parse("v=DMARC1; p=maybe").unwrap().is_err());
    }

    #[test]
    fn alignment() {
        assert!(aligned("mail.example.com", "example.com", false));
        assert!(!aligned("mail.example.com", "example.com", true));
        assert!(!aligned("example.net", "example.com", false));
        assert!(aligned("news.example.co.uk", "example.co.uk", false));
        assert_eq!(organisational_domain("a.b.example.com."), "example.com");
    }
}
