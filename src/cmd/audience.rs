//! `letterpress audience`: who may be mailed and what came back.
//!
//! Without a subcommand: the counts (active, unsubscribed, bounced,
//! complained) and the most recent events, addresses masked unless
//! `--show-addresses`. `unsubscribe` / `resubscribe` record a manual event
//! (the reader who replied "please remove me"); `export` writes the
//! suppressions as CSV.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use letterpress::audience::store::{Event, EventKind, Source, Store, Suppression};
use letterpress::audience::{self, AddressKey};
use letterpress::config::Config;
use letterpress::send::campaign::write_private;
use letterpress::send::smtp::error::printable;
use letterpress::subscribers;
use letterpress::{Error, Result};

/// Arguments of `audience`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do; without one, show the counts and the recent events.
    #[command(subcommand)]
    pub action: Option<Action>,

    /// Show the recent events' addresses in full (masked as a***@e***.com by default).
    #[arg(long)]
    pub show_addresses: bool,

    /// How many recent events to show.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub recent: usize,
}

/// The subcommands of `audience`.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Record that these addresses asked to stop (source: manual); `send` skips them.
    Unsubscribe {
        /// The addresses, e.g. ada@example.com (any spelling of one address counts as it).
        #[arg(value_name = "ADDR", required = true)]
        addresses: Vec<String>,
        /// A note kept with the event (never shown to readers), e.g. "replied to issue 12".
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Lift an unsubscribe, bounce or complaint for these addresses (source: manual).
    Resubscribe {
        /// The addresses, e.g. ada@example.com.
        #[arg(value_name = "ADDR", required = true)]
        addresses: Vec<String>,
        /// A note kept with the event, e.g. "asked to be added back".
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Write every suppressed address (address, reason, source, time, detail) as CSV, or
    /// with --format csv|toml the whole list as letterpress sees it (file + store).
    Export {
        /// `suppressions`: the store's suppressed addresses (the default); `csv`
        /// (email,name,status,tags,joined, what `import` reads back) or `toml` (a
        /// subscribers.toml): the subscriber file with the store's suppressions applied.
        #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ExportFormat::Suppressions)]
        format: ExportFormat,
        /// Write to this file (created owner-only, 0600) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// What `audience export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The store's suppressed addresses with reason, source, time and detail.
    Suppressions,
    /// The whole list as CSV: email,name,status,tags,joined.
    Csv,
    /// The whole list as a subscribers.toml.
    Toml,
}

/// Runs `audience`.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    #[cfg(unix)]
    // SAFETY: umask only sets this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let path = config.resolve(&config.audience.store);
    match args.action {
        None => status(config, &path, args.recent, args.show_addresses),
        Some(Action::Unsubscribe { addresses, note }) => {
            manual(&path, &addresses, EventKind::Unsubscribe, note.as_deref())
        }
        Some(Action::Resubscribe { addresses, note }) => {
            manual(&path, &addresses, EventKind::Resubscribe, note.as_deref())
        }
        Some(Action::Export {
            out,
            format: ExportFormat::Suppressions,
        }) => export(&path, out.as_deref()),
        Some(Action::Export { out, format }) => {
            let list = config.resolve(&config.paths.subscribers);
            let format = match format {
                ExportFormat::Toml => letterpress::import::export::Format::Toml,
                _ => letterpress::import::export::Format::Csv,
            };
            let (bytes, n) = letterpress::import::export::export_list(&list, &path, format)?;
            match out {
                Some(file) => {
                    write_private(&file, &bytes)?;
                    eprintln!("wrote {n} reader(s) to {}", file.display());
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)
                    .map_err(|e| Error::io("write", "standard output", e))?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn keys(addresses: &[String]) -> Result<Vec<AddressKey>> {
    addresses
        .iter()
        .map(|a| {
            AddressKey::parse(a).map_err(|e| {
                Error::Usage(format!(
                    "`{}` is not an address the list accepts: {e}",
                    a.escape_debug()
                ))
            })
        })
        .collect()
}

fn manual(
    path: &std::path::Path,
    addresses: &[String],
    kind: EventKind,
    note: Option<&str>,
) -> Result<ExitCode> {
    let keys = keys(addresses)?;
    let store = Store::open(path)?;
    let detail = note.map(printable).unwrap_or_default();
    let events: Vec<Event> = keys
        .iter()
        .map(|k| Event::now(k.clone(), kind, Source::Manual, detail.clone()))
        .collect();
    store.record(&events)?;
    let verb = match kind {
        EventKind::Unsubscribe => "unsubscribed",
        _ => "resubscribed",
    };
    println!(
        "{verb} {} address{} in {} (source: manual)",
        keys.len(),
        if keys.len() == 1 { "" } else { "es" },
        path.display()
    );
    for k in &keys {
        match store.status(k)? {
            Some(s) => println!("  {}: not mailed ({})", k.as_str(), reason(&s)),
            None => println!("  {}: may be mailed", k.as_str()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn reason(s: &Suppression) -> &'static str {
    match s.kind {
        EventKind::HardBounce => "bounced",
        EventKind::Complaint => "complained",
        _ => "unsubscribed",
    }
}

fn when(at_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at_ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| at_ms.to_string())
}

fn status(
    config: &Config,
    path: &std::path::Path,
    recent: usize,
    show_addresses: bool,
) -> Result<ExitCode> {
    if !path.exists() {
        println!(
            "{}: no audience store yet (the first send, `letterpress listen` or `audience unsubscribe` creates it)",
            path.display()
        );
    }
    let store = Store::open(path)?;
    let counts = store.counts()?;
    let list = config.resolve(&config.paths.subscribers);
    match subscribers::from_file(&list) {
        Ok(subs) => {
            let in_file = subs.active().count();
            let who = audience::mailable(subs, &store.suppressions()?);
            println!(
                "active: {} (of {in_file} active in {}{})",
                who.recipients.len(),
                list.display(),
                if who.skipped.total() > 0 {
                    format!("; {}", who.skipped.summary())
                } else {
                    String::new()
                }
            );
        }
        Err(e) => println!("active: unknown ({e})"),
    }
    println!(
        "unsubscribed: {}\nbounced: {}\ncomplained: {}",
        counts.unsubscribed, counts.bounced, counts.complained
    );
    println!("events: {} in {}", counts.events, path.display());
    // Why each address is suppressed: the deciding event's status code and
    // diagnostic (bounces, complaints) or how the reader asked.
    let suppressions = store.suppressions()?;
    let mut why: Vec<_> = suppressions.iter().collect();
    why.sort_by(|a, b| b.1.at_ms.cmp(&a.1.at_ms).then_with(|| a.0.cmp(b.0)));
    if !why.is_empty() {
        println!("suppressed (newest first, why):");
        for (key, s) in why.into_iter().take(recent) {
            let who = if show_addresses {
                key.as_str().to_string()
            } else {
                key.masked()
            };
            let mut line = format!(
                "  {}  {:<12}  {:<10}  {who}",
                when(s.at_ms),
                reason(s),
                s.source.as_str()
            );
            if !s.detail.is_empty() {
                let _ = write!(line, "  {}", printable(&s.detail));
            }
            println!("{line}");
        }
    }
    let events = store.recent(recent)?;
    if !events.is_empty() {
        println!("recent events (newest first):");
        for e in &events {
            let who = if show_addresses {
                e.address.as_str().to_string()
            } else {
                e.address.masked()
            };
            let mut line = format!(
                "  {}  {:<11}  {:<10}  {who}",
                when(e.at_ms),
                e.kind.as_str(),
                e.source.as_str()
            );
            if !e.detail.is_empty() {
                let _ = write!(line, "  {}", printable(&e.detail));
            }
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn export(path: &std::path::Path, out: Option<&std::path::Path>) -> Result<ExitCode> {
    let store = Store::open(path)?;
    let suppressions = store.suppressions()?;
    let mut rows: Vec<_> = suppressions.iter().collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    let mut csv = String::from("address,reason,source,at,detail\r\n");
    for (key, s) in rows {
        let at = chrono::DateTime::from_timestamp_millis(s.at_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        let _ = write!(
            csv,
            "{},{},{},{},{}\r\n",
            field(key.as_str()),
            reason(s),
            s.source.as_str(),
            at,
            field(&printable(&s.detail))
        );
    }
    match out {
        Some(file) => {
            write_private(file, csv.as_bytes())?;
            eprintln!(
                "wrote {} suppressed address(es) to {}",
                suppressions.len(),
                file.display()
            );
        }
        None => print!("{csv}"),
    }
    Ok(ExitCode::SUCCESS)
}
