//! The platforms an export can come from, told apart by their header, and
//! what each one's columns mean.
//!
//! Every platform answers the same four questions about a row: the address,
//! the name, the join date, the tags, and where the reader stands
//! ([`Standing`]). The column names are matched case-insensitively after
//! trimming, so `Email Address` and `email address` are one column.

use chrono::NaiveDate;

/// Where a reader stands on the platform they come from. The order matters:
/// when rows disagree, the greatest wins ([`Standing::max`]), so an address
/// unsubscribed anywhere is never made active by a row that says active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    /// Gets the newsletter.
    Active,
    /// Asked to stop (unsubscribed, blocklisted, disabled).
    Unsubscribed,
    /// The address does not take mail (cleaned, undeliverable, invalid).
    Bounced,
    /// The reader marked the newsletter as spam.
    Complained,
}

impl Standing {
    /// The word used in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Active => "active",
            Standing::Unsubscribed => "unsubscribed",
            Standing::Bounced => "bounced",
            Standing::Complained => "complained",
        }
    }
}

/// A platform whose export letterpress reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Platform {
    /// Substack's subscriber export (`email,active_subscription,expiry,email_disabled,…`).
    Substack,
    /// Mailchimp's audience export: a zip of `subscribed_…`, `unsubscribed_…`
    /// and `cleaned_…` CSVs, or those CSVs one by one.
    Mailchimp,
    /// Buttondown's subscriber export (`id,email,…,subscriber_type,…`).
    Buttondown,
    /// listmonk's subscriber export (`uuid,email,name,attributes,status,…`).
    Listmonk,
    /// Ghost's member export (`id,email,name,note,subscribed_to_emails,…,labels`).
    Ghost,
    /// Beehiiv's subscriber export (`email,status,…,unsubscribed_at`).
    Beehiiv,
    /// Keila's contact export (`Email,First name,Last name,Data,Status`).
    Keila,
    /// Revue's subscriber export (`email,first_name,last_name,created_at`).
    Revue,
    /// Any CSV with an `email` column (and optionally `name`, `first_name`,
    /// `last_name`, `status`, `tags`, `joined` or `created_at`).
    Csv,
}

impl Platform {
    /// The name used by `--from` and in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Substack => "substack",
            Platform::Mailchimp => "mailchimp",
            Platform::Buttondown => "buttondown",
            Platform::Listmonk => "listmonk",
            Platform::Ghost => "ghost",
            Platform::Beehiiv => "beehiiv",
            Platform::Keila => "keila",
            Platform::Revue => "revue",
            Platform::Csv => "csv",
        }
    }

    /// The platform whose export starts with this header (names already
    /// trimmed and lower-cased), or `None`.
    pub fn detect(header: &[String]) -> Option<Platform> {
        let has = |n: &str| header.iter().any(|h| h == n);
        let platform = if has("email address") && (has("optin_time") || has("leid")) {
            Platform::Mailchimp
        } else if has("email") && has("email_disabled") && has("active_subscription") {
            Platform::Substack
        } else if has("email") && has("subscriber_type") {
            Platform::Buttondown
        } else if has("uuid") && has("email") && has("attributes") && has("status") {
            Platform::Listmonk
        } else if has("email") && has("subscribed_to_emails") {
            Platform::Ghost
        } else if has("email") && has("status") && has("unsubscribed_at") {
            Platform::Beehiiv
        } else if has("email") && has("first name") && has("last name") && has("status") {
            Platform::Keila
        } else if has("email") && has("first_name") && has("last_name") {
            Platform::Revue
        } else if has("email") || has("email address") || has("e-mail") {
            Platform::Csv
        } else {
            return None;
        };
        Some(platform)
    }
}

/// Which column holds what, resolved once per file.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The platform.
    pub platform: Platform,
    email: usize,
    name: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    joined: Vec<usize>,
    tags: Option<usize>,
    status: Option<usize>,
    unsubscribed_at: Option<usize>,
    /// Mailchimp: the standing of every row in this file (from its name).
    fixed: Option<Standing>,
}

/// What a row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowReading<'a> {
    /// A reader.
    Reader {
        /// The address as written (trimmed).
        email: &'a str,
        /// The name (first and last joined), whitespace collapsed.
        name: Option<String>,
        /// The join date.
        joined: Option<NaiveDate>,
        /// The tags.
        tags: Vec<String>,
        /// Where they stand.
        standing: Standing,
    },
    /// A row that is not a reader yet (an unconfirmed sign-up): skipped.
    Unconfirmed,
}

impl Layout {
    /// The layout of `platform` for this header; `file_name` tells a
    /// Mailchimp part (`unsubscribed_…`, `cleaned_…`) from the subscribed one.
    pub fn new(platform: Platform, header: &[String], file_name: &str) -> Result<Layout, String> {
        let col = |n: &str| header.iter().position(|h| h == n);
        let any = |ns: &[&str]| ns.iter().find_map(|n| col(n));
        let email = any(&["email", "email address", "e-mail", "email_address"]).ok_or_else(|| {
            format!(
                "this {} export has no email column (header: {}); pass the right --from, or name the address column `email`",
                platform.as_str(),
                header.join(",")
            )
        })?;
        let fixed = (platform == Platform::Mailchimp).then(|| {
            let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
            let base = base.to_ascii_lowercase();
            if base.starts_with("cleaned") || col("clean_time").is_some() {
                Standing::Bounced
            } else if base.starts_with("unsubscribed") || col("unsub_time").is_some() {
                Standing::Unsubscribed
            } else {
                Standing::Active
            }
        });
        let (joined, tags, status) = match platform {
            Platform::Mailchimp => (
                vec![col("optin_time"), col("confirm_time")],
                col("tags"),
                None,
            ),
            Platform::Substack => (vec![col("created_at")], None, col("email_disabled")),
            Platform::Buttondown => (
                vec![col("subscription_date"), col("creation_date")],
                col("tags"),
                col("subscriber_type"),
            ),
            Platform::Listmonk => (vec![col("created_at")], None, col("status")),
            Platform::Ghost => (
                vec![col("created_at")],
                col("labels"),
                col("subscribed_to_emails"),
            ),
            Platform::Beehiiv => (vec![col("created_at")], col("tags"), col("status")),
            Platform::Keila => (
                vec![col("inserted at"), col("inserted_at"), col("created at")],
                None,
                col("status"),
            ),
            Platform::Revue => (vec![col("created_at")], None, None),
            Platform::Csv => (
                vec![
                    col("joined"),
                    col("created_at"),
                    col("created"),
                    col("date"),
                ],
                any(&["tags", "labels"]),
                col("status"),
            ),
        };
        Ok(Layout {
            platform,
            email,
            name: col("name"),
            first: any(&["first name", "first_name", "firstname"]),
            last: any(&["last name", "last_name", "lastname"]),
            joined: joined.into_iter().flatten().collect(),
            tags,
            status,
            unsubscribed_at: any(&["unsubscribed_at", "unsubscription_date"]),
            fixed,
        })
    }

    /// Reads one row (fields already decoded); `Err` says what is wrong
    /// with it and how to fix it.
    pub fn read<'a>(&self, row: &[&'a str]) -> Result<RowReading<'a>, String> {
        let field = |i: Option<usize>| i.and_then(|i| row.get(i)).map_or("", |s| s.trim());
        let email = field(Some(self.email));
        if email.is_empty() {
            return Err("the email column is empty; add the address or delete the row".into());
        }
        let standing = match self.standing(field(self.status), field(self.unsubscribed_at))? {
            Some(s) => s,
            None => return Ok(RowReading::Unconfirmed),
        };
        let name = match (field(self.name), field(self.first), field(self.last)) {
            (n, _, _) if !n.is_empty() => clean_name(n),
            (_, f, l) => clean_name(&format!("{f} {l}")),
        };
        let joined = self.joined.iter().find_map(|&i| parse_date(field(Some(i))));
        let tags = split_tags(field(self.tags));
        Ok(RowReading::Reader {
            email,
            name,
            joined,
            tags,
            standing,
        })
    }

    /// The standing from the status column; `None` for an unconfirmed row.
    fn standing(&self, status: &str, unsubscribed_at: &str) -> Result<Option<Standing>, String> {
        if let Some(s) = self.fixed {
            return Ok(Some(s));
        }
        let lower = status.to_ascii_lowercase();
        let unknown = |expected: &str| {
            Err(format!(
                "unknown {} status `{}`; expected {expected}",
                self.platform.as_str(),
                status.escape_debug()
            ))
        };
        let standing = match self.platform {
            Platform::Substack => match lower.as_str() {
                "true" | "1" | "yes" => Standing::Unsubscribed,
                "false" | "0" | "no" | "" => Standing::Active,
                _ => return unknown("true or false in email_disabled"),
            },
            Platform::Buttondown => match lower.as_str() {
                "regular" | "premium" | "gifted" | "trialed" | "churning" | "past_due"
                | "paused" | "" => Standing::Active,
                "unsubscribed" | "removed" => Standing::Unsubscribed,
                "undeliverable" => Standing::Bounced,
                "complained" | "spammy" => Standing::Complained,
                "unactivated" => return Ok(None),
                _ => return unknown(
                    "regular, premium, gifted, trialed, churning, past_due, paused, unactivated, unsubscribed, removed, undeliverable, complained or spammy",
                ),
            },
            Platform::Listmonk => match lower.as_str() {
                "enabled" | "" => Standing::Active,
                "blocklisted" | "blacklisted" | "disabled" => Standing::Unsubscribed,
                _ => return unknown("enabled, disabled or blocklisted"),
            },
            Platform::Ghost => match lower.as_str() {
                "true" | "1" | "yes" => Standing::Active,
                "false" | "0" | "no" | "" => Standing::Unsubscribed,
                _ => return unknown("true or false in subscribed_to_emails"),
            },
            Platform::Beehiiv => match lower.as_str() {
                "active" | "" => Standing::Active,
                "inactive" | "unsubscribed" => Standing::Unsubscribed,
                "invalid" => Standing::Bounced,
                "pending" | "validating" => return Ok(None),
                _ => return unknown("active, inactive, unsubscribed, invalid, pending or validating"),
            },
            Platform::Keila => match lower.as_str() {
                "active" | "" => Standing::Active,
                "unsubscribed" => Standing::Unsubscribed,
                "unreachable" => Standing::Bounced,
                _ => return unknown("active, unsubscribed or unreachable"),
            },
            Platform::Csv => match lower.as_str() {
                "active" | "subscribed" | "enabled" | "" => Standing::Active,
                "unsubscribed" | "blocklisted" | "disabled" | "inactive" => Standing::Unsubscribed,
                "bounced" | "cleaned" | "undeliverable" | "invalid" => Standing::Bounced,
                "complained" | "spam" => Standing::Complained,
                "pending" | "unconfirmed" => return Ok(None),
                _ => return unknown(
                    "active, unsubscribed, bounced, complained or pending (or leave it empty)",
                ),
            },
            Platform::Mailchimp | Platform::Revue => Standing::Active,
        };
        // A recorded unsubscription date means the reader left, whatever the
        // status column says.
        if standing == Standing::Active && !unsubscribed_at.is_empty() {
            return Ok(Some(Standing::Unsubscribed));
        }
        Ok(Some(standing))
    }
}

/// The name with every run of whitespace or control characters (an export's
/// embedded line breaks) made one space; `None` when nothing is left.
fn clean_name(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for word in raw.split(|c: char| c.is_whitespace() || c.is_control()) {
        if !word.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The date at the start of `s` (`2024-03-01`, `2024-03-01T10:00:00Z`,
/// `2024-03-01 10:00:00.123+00:00`); `None` for anything else.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let head = s.get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

/// Tags as the platforms write them: `"a","b"` (Mailchimp), `a, b` (Ghost),
/// `['a', 'b']` or `["a"]` (Buttondown). A quoted tag may contain commas.
fn split_tags(s: &str) -> Vec<String> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    let mut tags: Vec<String> = Vec::new();
    let mut push = |t: &str| {
        let t = t.trim();
        if !t.is_empty() && !t.chars().any(char::is_control) && !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    };
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let Some(first) = rest.chars().next() else {
            break;
        };
        if first == '"' || first == '\'' {
            let body = &rest[1..];
            let end = body.find(first).unwrap_or(body.len());
            push(&body[..end]);
            rest = body.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> Vec<String> {
        s.split(',').map(|h| h.trim().to_lowercase()).collect()
    }

    #[test]
    fn every_platform_is_told_by_its_header() {
        let cases = [
            (
                "email,active_subscription,expiry,email_disabled,prefer_digests,created_at",
                Platform::Substack,
            ),
            (
                "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,LEID,TAGS",
                Platform::Mailchimp,
            ),
            (
                "id,email,notes,subscriber_type,creation_date,tags,metadata",
                Platform::Buttondown,
            ),
            (
                "uuid,email,name,attributes,status,created_at,updated_at",
                Platform::Listmonk,
            ),
            (
                "id,email,name,note,subscribed_to_emails,created_at,labels",
                Platform::Ghost,
            ),
            (
                "email,status,created_at,utm_source,unsubscribed_at",
                Platform::Beehiiv,
            ),
            ("Email,First name,Last name,Data,Status", Platform::Keila),
            ("email,first_name,last_name,created_at", Platform::Revue),
            ("Name,Email", Platform::Csv),
        ];
        for (h, p) in cases {
            assert_eq!(Platform::detect(&header(h)), Some(p), "{h}");
        }
        assert_eq!(Platform::detect(&header("address,who")), None);
    }

    #[test]
    fn statuses_map_to_standings_and_unknown_ones_are_errors() {
        let h = header("id,email,subscriber_type,unsubscription_date");
        let l = Layout::new(Platform::Buttondown, &h, "b.csv").unwrap();
        let st = |t: &str, u: &str| match l.read(&["1", "a@example.com", t, u]) {
            Ok(RowReading::Reader { standing, .. }) => Ok(Some(standing)),
            Ok(RowReading::Unconfirmed) => Ok(None),
            Err(e) => Err(e),
        };
        assert_eq!(st("premium", ""), Ok(Some(Standing::Active)));
        assert_eq!(
            st("regular", "2024-01-01"),
            Ok(Some(Standing::Unsubscribed))
        );
        assert_eq!(st("undeliverable", ""), Ok(Some(Standing::Bounced)));
        assert_eq!(st("unactivated", ""), Ok(None));
        assert!(st("vip", "")
            .unwrap_err()
            .contains("unknown buttondown status `vip`"));
    }

    #[test]
    fn mailchimp_parts_are_told_by_name_or_columns() {
        let h = header("Email Address,First Name,Last Name,OPTIN_TIME,LEID");
        let l = Layout::new(Platform::Mailchimp, &h, "x/cleaned_members_export_1.csv").unwrap();
        assert_eq!(l.fixed, Some(Standing::Bounced));
        let mut h2 = h.clone();
        h2.push("unsub_time".into());
        let l = Layout::new(Platform::Mailchimp, &h2, "export.csv").unwrap();
        assert_eq!(l.fixed, Some(Standing::Unsubscribed));
    }

    #[test]
    fn names_dates_and_tags_are_cleaned() {
        assert_eq!(
            clean_name(" Ada\r\n  Lovelace "),
            Some("Ada Lovelace".into())
        );
        assert_eq!(clean_name("  "), None);
        assert_eq!(
            parse_date("2021-03-04 12:34:56.1+00:00"),
            NaiveDate::from_ymd_opt(2021, 3, 4)
        );
        assert_eq!(parse_date("3/4/2021"), None);
        assert_eq!(split_tags(r#""vip","early, bird""#), ["vip", "early, bird"]);
        assert_eq!(split_tags("['a', 'b', 'a']"), ["a", "b"]);
        assert!(split_tags("").is_empty());
    }
}
