//! `letterpress audience export --format toml|csv`: the whole list as
//! letterpress sees it, the subscriber file with the store's suppressions
//! applied (and the store's suppressed addresses the file lacks), to move
//! elsewhere or to fold the store into the file.
//!
//! The CSV (`email,name,status,tags,joined`) is what `letterpress import`
//! reads as a plain CSV, and what other platforms' importers take; the TOML
//! is a `subscribers.toml`.

use std::collections::HashSet;
use std::io::Write;

use super::write::render;
use super::{Entry, Standing};
use crate::audience::store::{EventKind, Suppressions};
use crate::audience::subscribers::{Status, Subscribers};
use crate::audience::AddressKey;

/// The two whole-list formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A `subscribers.toml` (complaints are written as `unsubscribed`).
    Toml,
    /// `email,name,status,tags,joined` (status active, unsubscribed, bounced
    /// or complained; tags joined by commas).
    Csv,
}

/// One reader of the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// The address as the file writes it (the canonical key for store-only ones).
    pub email: String,
    /// The name.
    pub name: Option<String>,
    /// Where they stand, the store having the last word.
    pub standing: Standing,
    /// The tags.
    pub tags: Vec<String>,
    /// The join date.
    pub joined: Option<chrono::NaiveDate>,
}

/// The whole list: the file's entries in file order (each with the store's
/// suppression applied, and active again when they confirmed a sign-up, as
/// `send` sees it), then the confirmed sign-ups the file does not have, then
/// the store's suppressed addresses the file does not have, sorted.
pub fn whole_list(list: &Subscribers, suppressions: &Suppressions) -> Vec<Reader> {
    let confirmed: std::collections::HashMap<&AddressKey, &Option<String>> = suppressions
        .confirmed()
        .iter()
        .map(|(k, n)| (k, n))
        .collect();
    let mut seen = HashSet::with_capacity(list.list.len());
    let mut out = Vec::with_capacity(list.list.len());
    for s in &list.list {
        let key = AddressKey::parse(s.email.as_ref()).ok();
        let mut standing = match s.status {
            Status::Active => Standing::Active,
            Status::Unsubscribed => Standing::Unsubscribed,
            Status::Bounced => Standing::Bounced,
        };
        if let Some(k) = &key {
            if let Some(why) = suppressions.get(k) {
                standing = standing.max(standing_of(why.kind));
            } else if standing == Standing::Unsubscribed && confirmed.contains_key(k) {
                standing = Standing::Active;
            }
            seen.insert(k.clone());
        }
        out.push(Reader {
            email: s.email.to_string(),
            name: s.name.as_deref().map(String::from),
            standing,
            tags: list.tags_of(s).map(String::from).collect(),
            joined: s.joined,
        });
    }
    for (k, name) in suppressions.confirmed() {
        if seen.insert(k.clone()) {
            out.push(Reader {
                email: k.as_str().to_string(),
                name: name.clone(),
                standing: Standing::Active,
                tags: Vec::new(),
                joined: None,
            });
        }
    }
    let mut rest: Vec<_> = suppressions
        .iter()
        .filter(|(k, _)| !seen.contains(*k))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    for (k, why) in rest {
        out.push(Reader {
            email: k.as_str().to_string(),
            name: None,
            standing: standing_of(why.kind),
            tags: Vec::new(),
            joined: None,
        });
    }
    out
}

/// The whole list from the subscriber file at `list` (absent: empty) and
/// the store at `store` (absent: nothing suppressed), written in `format`;
/// with the number of readers.
pub fn export_list(
    list: &std::path::Path,
    store: &std::path::Path,
    format: Format,
) -> crate::Result<(Vec<u8>, usize)> {
    let subs = if list.exists() {
        crate::audience::subscribers::from_file(list)?
    } else {
        Subscribers::default()
    };
    let suppressions = if store.exists() {
        crate::audience::store::Store::open(store)?.suppressions()?
    } else {
        Suppressions::default()
    };
    let readers = whole_list(&subs, &suppressions);
    let mut out = Vec::new();
    write(&readers, format, &mut out).map_err(|e| crate::Error::io("write", "the export", e))?;
    Ok((out, readers.len()))
}

fn standing_of(kind: EventKind) -> Standing {
    match kind {
        EventKind::HardBounce => Standing::Bounced,
        EventKind::Complaint => Standing::Complained,
        _ => Standing::Unsubscribed,
    }
}

/// Writes `readers` in `format`.
pub fn write(readers: &[Reader], format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Toml => {
            let mut block = String::new();
            out.write_all(b"# The whole list as letterpress sees it (subscribers.toml and the audience store).\n")?;
            for r in readers {
                block.clear();
                block.push('\n');
                render(
                    &Entry {
                        email: r.email.clone(),
                        name: r.name.clone(),
                        status: match r.standing {
                            Standing::Active => Status::Active,
                            Standing::Bounced => Status::Bounced,
                            Standing::Unsubscribed | Standing::Complained => Status::Unsubscribed,
                        },
                        tags: r.tags.clone(),
                        joined: r.joined,
                    },
                    &mut block,
                );
                out.write_all(block.as_bytes())?;
            }
            Ok(())
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["email", "name", "status", "tags", "joined"])?;
            for r in readers {
                let joined = r.joined.map(|d| d.to_string()).unwrap_or_default();
                let tags: Vec<String> = r
                    .tags
                    .iter()
                    .map(|t| {
                        if t.contains(',') {
                            format!("\"{t}\"")
                        } else {
                            t.clone()
                        }
                    })
                    .collect();
                w.write_record([
                    r.email.as_str(),
                    r.name.as_deref().unwrap_or(""),
                    r.standing.as_str(),
                    &tags.join(","),
                    &joined,
                ])?;
            }
            w.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::store::{Event, Source, Store};

    #[test]
    fn the_store_has_the_last_word_and_store_only_addresses_are_listed() {
        let list = crate::audience::subscribers::parse(
            "[[subscriber]]\nemail = \"Ada@Example.com\"\nname = \"Ada, L.\"\ntags = [\"a\", \"b, c\"]\njoined = 2024-01-02\n\n\
             [[subscriber]]\nemail = \"bob@example.com\"\n",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).unwrap();
        let key = |s: &str| AddressKey::parse(s).unwrap();
        store
            .record(&[
                Event::now(
                    key("bob@example.com"),
                    EventKind::Complaint,
                    Source::Remote,
                    "",
                ),
                Event::now(
                    key("zed@example.com"),
                    EventKind::HardBounce,
                    Source::SmtpReply,
                    "",
                ),
            ])
            .unwrap();
        let readers = whole_list(&list, &store.suppressions().unwrap());
        let mut csv = Vec::new();
        write(&readers, Format::Csv, &mut csv).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "email,name,status,tags,joined\n\
             Ada@Example.com,\"Ada, L.\",active,\"a,\"\"b, c\"\"\",2024-01-02\n\
             bob@example.com,,complained,,\n\
             zed@example.com,,bounced,,\n"
        );
        let mut toml = Vec::new();
        write(&readers, Format::Toml, &mut toml).unwrap();
        let back =
            crate::audience::subscribers::parse(std::str::from_utf8(&toml).unwrap()).unwrap();
        assert_eq!(back.counts(), (1, 1, 1));
        assert_eq!(
            back.tags_of(&back.list[0]).collect::<Vec<_>>(),
            ["a", "b, c"]
        );
    }

    #[test]
    fn the_confirmed_sign_ups_are_in_the_export() {
        let list = crate::audience::subscribers::parse(
            "[[subscriber]]\nemail = \"back@example.com\"\nstatus = \"unsubscribed\"\n",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).unwrap();
        let ev = |a: &str, kind, at_ms, detail: &str| Event {
            address: AddressKey::parse(a).unwrap(),
            kind,
            source: Source::Page,
            at_ms,
            detail: detail.into(),
        };
        store
            .record(&[
                ev("back@example.com", EventKind::SignUp, 1, ""),
                ev("back@example.com", EventKind::Confirm, 2, ""),
                ev("new@example.com", EventKind::SignUp, 1, "Ada"),
                ev("new@example.com", EventKind::Confirm, 2, ""),
                ev("pending@example.com", EventKind::SignUp, 1, ""),
            ])
            .unwrap();
        let mut csv = Vec::new();
        write(
            &whole_list(&list, &store.suppressions().unwrap()),
            Format::Csv,
            &mut csv,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "email,name,status,tags,joined\n\
             back@example.com,,active,,\n\
             new@example.com,Ada,active,,\n"
        );
    }
}
