//! `letterpress bounces`: read what came back (delivery failures,
//! complaints, auto-replies, unsubscribe requests) from message files,
//! commit it to the audience store, and say what each did.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use letterpress::audience::store::{EventKind, Store};
use letterpress::audience::verp::Verp;
use letterpress::audience::AddressKey;
use letterpress::bounces::classify::{self, Kind};
use letterpress::bounces::policy::{Policy, Roster};
use letterpress::bounces::{self, Processed};
use letterpress::config::Config;
use letterpress::message::list_tokens;
use letterpress::pipeline::unsubscribe_secret;
use letterpress::send::smtp::error::printable;
use letterpress::subscribers;
use letterpress::{Error, Result};

/// Arguments of `bounces`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Messages to read: .eml files (one RFC 5322 message each), or folders of
    /// them (a maildir's `new/` and `cur/`, a folder a Postfix pipe writes to).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// Only classify and print; write nothing to the store.
    #[arg(long)]
    pub dry_run: bool,

    /// Print addresses in full (masked as a***@e***.com by default).
    #[arg(long)]
    pub show_addresses: bool,
}

/// Runs `bounces`.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    #[cfg(unix)]
    // SAFETY: umask only sets this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let files = collect(&args.paths)?;
    if args.dry_run {
        return dry_run(&files);
    }
    let list = config.resolve(&config.paths.subscribers);
    let subs = subscribers::from_file(&list)?;
    let keys: Vec<AddressKey> = subs
        .list
        .iter()
        .filter_map(|s| AddressKey::parse(s.email.as_ref()).ok())
        .collect();
    let secret = unsubscribe_secret(config, false);
    let tokens = match &secret {
        Some(secret) => Some(list_tokens(config, Some(secret))?),
        None => {
            eprintln!(
                "note: ${} is not set, so reports are attributed only by the addresses they \
                 name, not by the original Message-ID",
                config.unsubscribe.secret_env
            );
            None
        }
    };
    let mut roster = Roster::new(keys, tokens.as_ref());
    if let (Some(rp), Some(secret)) = (&config.bounces.return_path, &secret) {
        roster = roster.with_verp(Verp::new(rp, secret)?);
    }
    let policy = Policy {
        soft_bounce_limit: config.bounces.soft_bounce_limit,
        unsubscribe_mailto: config.unsubscribe.mailto.clone(),
    };
    let store = Store::open(&config.resolve(&config.audience.store))?;
    let show = |a: &str| -> String {
        if args.show_addresses {
            a.to_string()
        } else {
            AddressKey::parse(a).map_or_else(|_| "(unparsable address)".into(), |k| k.masked())
        }
    };
    let mut tally = Tally::default();
    let mut needs_look = Vec::new();
    for file in &files {
        let raw = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
        match bounces::process(&raw, &roster, &policy, &store)? {
            Processed::NeedsLook(_) => needs_look.push(file.clone()),
            Processed::AlreadyCounted(_) => tally.already += 1,
            Processed::Counted(report, decision) => {
                match report.kind {
                    Kind::AutoReply => tally.auto_replies += 1,
                    Kind::Notice => tally.notices += 1,
                    _ => {}
                }
                for e in &decision.events {
                    match e.kind {
                        EventKind::HardBounce => tally.hard += 1,
                        EventKind::SoftBounce => tally.soft += 1,
                        EventKind::Complaint => tally.complaints += 1,
                        EventKind::Unsubscribe => tally.unsubscribes += 1,
                        EventKind::Resubscribe | EventKind::SignUp | EventKind::Confirm => {}
                    }
                    println!(
                        "{}: {} {}  {}",
                        file.display(),
                        e.kind.as_str(),
                        show(e.address.as_str()),
                        printable(&e.detail)
                    );
                }
                for f in &decision.sender_problems {
                    tally.sender += 1;
                    println!(
                        "{}: refused as the sender's problem (suppresses nobody; check your \
                         reputation, DKIM/SPF and content): {}  {}",
                        file.display(),
                        f.status.map(|s| s.to_string()).unwrap_or_default(),
                        printable(&f.diagnostic)
                    );
                }
                tally.not_on_list += decision.not_on_list.len();
                if decision.forged {
                    tally.forged += 1;
                    println!(
                        "{}: came to a VERP address whose seal does not check (forged or \
                         damaged): nobody suppressed",
                        file.display()
                    );
                }
            }
        }
    }
    println!(
        "{} messages: {} hard bounces, {} soft bounces, {} complaints, {} unsubscribes, \
         {} sender problems, {} auto-replies, {} notices, {} not on the list, {} already counted, \
         {} need a look{}",
        files.len(),
        tally.hard,
        tally.soft,
        tally.complaints,
        tally.unsubscribes,
        tally.sender,
        tally.auto_replies,
        tally.notices,
        tally.not_on_list,
        tally.already,
        needs_look.len(),
        if tally.forged > 0 {
            format!(", {} forged VERP tags refused", tally.forged)
        } else {
            String::new()
        }
    );
    if !needs_look.is_empty() {
        println!("needs a look (not recognised, nothing recorded):");
        for f in &needs_look {
            println!("  {}", f.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Default)]
struct Tally {
    hard: usize,
    soft: usize,
    complaints: usize,
    unsubscribes: usize,
    sender: usize,
    auto_replies: usize,
    notices: usize,
    not_on_list: usize,
    forged: usize,
    already: usize,
}

/// Classifies only; prints one line per file and the rate.
fn dry_run(files: &[PathBuf]) -> Result<ExitCode> {
    let mut raws = Vec::with_capacity(files.len());
    for f in files {
        raws.push(std::fs::read(f).map_err(|e| Error::io("read", f, e))?);
    }
    let started = std::time::Instant::now();
    let reports: Vec<classify::Report> = raws.iter().map(|r| classify::parse(r)).collect();
    let took = started.elapsed();
    for (f, r) in files.iter().zip(&reports) {
        let failures: Vec<String> = r
            .failures
            .iter()
            .map(|x| {
                format!(
                    "{} {}",
                    x.severity.as_str(),
                    x.status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into())
                )
            })
            .collect();
        println!(
            "{}: {} [{}]",
            f.display(),
            r.kind.as_str(),
            failures.join(", ")
        );
    }
    let secs = took.as_secs_f64().max(1e-9);
    eprintln!(
        "classified {} messages in {:.3} s ({:.0} messages/s)",
        reports.len(),
        secs,
        reports.len() as f64 / secs
    );
    Ok(ExitCode::SUCCESS)
}

/// The files named, and the regular files in the folders named (one level,
/// plus a maildir's new/ and cur/), sorted.
fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io("read", p, e))?;
        if meta.is_dir() {
            let mut dirs = vec![p.clone()];
            for sub in ["new", "cur"] {
                if p.join(sub).is_dir() {
                    dirs.push(p.join(sub));
                }
            }
            for d in dirs {
                out.extend(files_in(&d)?);
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))? {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let path = entry.path();
        if path.is_file() {
            v.push(path);
        }
    }
    v.sort();
    Ok(v)
}
