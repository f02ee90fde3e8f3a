//! `letterpress bounces`: read what came back (delivery failures,
//! complaints, auto-replies, unsubscribe requests) from message files,
//! commit it to the audience store, and say what each did.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use letterpress::audience::store::{EventKind, Store};
use letterpress::audience::AddressKey;
use letterpress::bounces::classify::{self, Kind};
use letterpress::bounces::imap::{self, Filing, ImapUrl, Mailbox};
use letterpress::bounces::policy::{Policy, Roster};
use letterpress::bounces::{self, Processed};
use letterpress::config::Config;
use letterpress::pipeline::unsubscribe_secret;
use letterpress::send::smtp::error::printable;
use letterpress::send::smtp::url::{password_from, Secret};
use letterpress::{Error, Result};

/// Arguments of `bounces`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Messages to read: .eml files (one RFC 5322 message each), or folders of
    /// them (a maildir's `new/` and `cur/`, a folder a Postfix pipe writes to).
    #[arg(value_name = "PATH", required_unless_present = "imap")]
    pub paths: Vec<PathBuf>,

    /// Read the bounce mailbox over IMAP: imaps://USER@HOST[:PORT]/MAILBOX
    /// (implicit TLS) or imap://… (STARTTLS required, plaintext only to a
    /// loopback address). The password comes from $LETTERPRESS_IMAP_PASSWORD
    /// or [bounces] imap_password_command. Each message is moved to
    /// --processed once its result is committed, or to --needs-a-look.
    #[arg(long, value_name = "URL", conflicts_with = "paths")]
    pub imap: Option<String>,

    /// With --imap: the folder messages are moved to once counted (created if
    /// missing). A server without MOVE gets them flagged \Seen and
    /// $LetterpressProcessed in place instead.
    #[arg(long, value_name = "NAME", default_value = "letterpress/processed")]
    pub processed: String,

    /// With --imap: the folder unrecognised messages are moved to (created if
    /// missing); they are listed, and nothing is recorded for them. Without
    /// MOVE they are flagged $LetterpressNeedsLook in place, left unread.
    #[arg(long, value_name = "NAME", default_value = "letterpress/needs-a-look")]
    pub needs_a_look: String,

    /// Only classify and print; write nothing to the store.
    #[arg(long, conflicts_with = "imap")]
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
    if let Some(raw) = &args.imap {
        let url = ImapUrl::parse(raw)?;
        let password = password_from(
            imap::PASSWORD_ENV,
            config.bounces.imap_password_command.as_deref(),
            "bounces.imap_password_command",
            "smtp.timeout_seconds",
            timeout(config),
        )?;
        let mut run = Run::new(config, args.show_addresses)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Usage(format!("cannot start the IMAP client: {e}")))?;
        rt.block_on(from_imap(&mut run, &url, &password, &args, timeout(config)))?;
        run.summary();
        return Ok(ExitCode::SUCCESS);
    }
    let files = collect(&args.paths)?;
    if args.dry_run {
        return dry_run(&files);
    }
    let mut run = Run::new(config, args.show_addresses)?;
    for file in &files {
        let raw = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
        run.handle(&file.display().to_string(), &raw)?;
    }
    run.summary();
    Ok(ExitCode::SUCCESS)
}

fn timeout(config: &Config) -> std::time::Duration {
    letterpress::send::engine::seconds(
        config.smtp.timeout_seconds,
        &letterpress::config::TIMEOUT_SECONDS,
    )
}

/// Every message of the mailbox, batch by batch: each batch is committed
/// to the store message by message, then filed.
async fn from_imap(
    run: &mut Run,
    url: &ImapUrl,
    password: &Secret,
    args: &Args,
    timeout: std::time::Duration,
) -> Result<()> {
    let mut mailbox = Mailbox::open(url, password, timeout).await?;
    if mailbox.can_move() {
        mailbox.ensure_folder(&args.processed).await?;
        mailbox.ensure_folder(&args.needs_a_look).await?;
    } else {
        eprintln!(
            "note: {} cannot MOVE: counted messages are flagged \\Seen and {}, unrecognised \
             ones {}, where they are",
            url.shown,
            imap::PROCESSED_KEYWORD,
            imap::NEEDS_LOOK_KEYWORD
        );
    }
    let uids = mailbox.uids().await?;
    for batch in imap::batches(&uids) {
        let fetched = mailbox.fetch(batch).await?;
        let mut done = Vec::new();
        let mut look = Vec::new();
        for m in &fetched {
            let label = format!("{} UID {}", url.mailbox, m.uid);
            if run.handle(&label, &m.raw)? {
                look.push(m.uid);
            } else {
                done.push(m.uid);
            }
        }
        mailbox
            .file(&done, Filing::Processed(&args.processed))
            .await?;
        mailbox
            .file(&look, Filing::NeedsLook(&args.needs_a_look))
            .await?;
    }
    mailbox.logout().await;
    Ok(())
}

/// One run over messages from any source: the list, the policy and the
/// store, and what the messages did so far.
struct Run {
    roster: Roster,
    policy: Policy,
    store: Store,
    show_addresses: bool,
    messages: usize,
    tally: Tally,
    needs_look: Vec<String>,
}

impl Run {
    fn new(config: &Config, show_addresses: bool) -> Result<Run> {
        let secret = unsubscribe_secret(config, false);
        if secret.is_none() {
            eprintln!(
                "note: ${} is not set, so reports are attributed only by the addresses they \
                 name, not by the original Message-ID",
                config.unsubscribe.secret_env
            );
        }
        let roster = Roster::from_config(config, secret.as_deref())?;
        let policy = Policy::from_config(config);
        let store = Store::open(&config.resolve(&config.audience.store))?;
        Ok(Run {
            roster,
            policy,
            store,
            show_addresses,
            messages: 0,
            tally: Tally::default(),
            needs_look: Vec::new(),
        })
    }

    fn show(&self, a: &str) -> String {
        if self.show_addresses {
            a.to_string()
        } else {
            AddressKey::parse(a).map_or_else(|_| "(unparsable address)".into(), |k| k.masked())
        }
    }

    /// Classifies `raw` (called `label` in the output), commits its result
    /// and prints what it did; true when a person must look at it.
    fn handle(&mut self, label: &str, raw: &[u8]) -> Result<bool> {
        self.messages += 1;
        match bounces::process(raw, &self.roster, &self.policy, &self.store)? {
            Processed::NeedsLook(_) => {
                self.needs_look.push(label.to_string());
                return Ok(true);
            }
            Processed::AlreadyCounted(_) => self.tally.already += 1,
            Processed::Counted(report, decision) => {
                let tally = &mut self.tally;
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
                }
                tally.sender += decision.sender_problems.len();
                tally.not_on_list += decision.not_on_list.len();
                if decision.forged {
                    tally.forged += 1;
                }
                for e in &decision.events {
                    println!(
                        "{label}: {} {}  {}",
                        e.kind.as_str(),
                        self.show(e.address.as_str()),
                        printable(&e.detail)
                    );
                }
                for f in &decision.sender_problems {
                    println!(
                        "{label}: refused as the sender's problem (suppresses nobody; check your \
                         reputation, DKIM/SPF and content): {}  {}",
                        f.status.map(|s| s.to_string()).unwrap_or_default(),
                        printable(&f.diagnostic)
                    );
                }
                if decision.forged {
                    println!(
                        "{label}: came to a VERP address whose seal does not check (forged or \
                         damaged): nobody suppressed"
                    );
                }
            }
        }
        Ok(false)
    }

    fn summary(&self) {
        let tally = &self.tally;
        println!(
            "{} messages: {} hard bounces, {} soft bounces, {} complaints, {} unsubscribes, \
             {} sender problems, {} auto-replies, {} notices, {} not on the list, {} already counted, \
             {} need a look{}",
            self.messages,
            tally.hard,
            tally.soft,
            tally.complaints,
            tally.unsubscribes,
            tally.sender,
            tally.auto_replies,
            tally.notices,
            tally.not_on_list,
            tally.already,
            self.needs_look.len(),
            if tally.forged > 0 {
                format!(", {} forged VERP tags refused", tally.forged)
            } else {
                String::new()
            }
        );
        if !self.needs_look.is_empty() {
            println!("needs a look (not recognised, nothing recorded):");
            for f in &self.needs_look {
                println!("  {f}");
            }
        }
    }
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
