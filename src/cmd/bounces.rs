//! `letterpress bounces`: read what came back (delivery failures,
//! complaints, auto-replies, unsubscribe requests) from message files or
//! the bounce mailbox, commit it to the audience store (the protocol is
//! [`letterpress::bounces::run`]), and say what each did.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use letterpress::audience::store::Store;
use letterpress::audience::AddressKey;
use letterpress::bounces::classify;
use letterpress::bounces::imap::{self, Connect, ImapUrl, Mailbox};
use letterpress::bounces::policy::{Policy, Roster};
use letterpress::bounces::run::{Folders, Outcome, Progress, Run, Tally, WatchSettings};
use letterpress::bounces::Processed;
use letterpress::config::Config;
use letterpress::pipeline::unsubscribe_secret;
use letterpress::send::smtp::error::printable;
use letterpress::send::smtp::url::password_from;
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

    /// With --imap: once the mailbox is read, keep it open and read new
    /// mail as it arrives (IDLE, RFC 2177; without IDLE, a poll every
    /// --poll-seconds), filing each message after its result is committed.
    /// A dropped connection is reopened (waiting 1 s, 2 s… up to 60 s).
    /// SIGINT or SIGTERM ends it cleanly: the summary, exit status 0.
    #[arg(long, requires = "imap")]
    pub watch: bool,

    /// With --imap: leave handled messages in the mailbox, flagged \Seen and
    /// $LetterpressProcessed (unrecognised ones $LetterpressNeedsLook, left
    /// unread), instead of moving them to --processed and --needs-a-look.
    /// Later runs skip them by those keywords. Much cheaper for the server
    /// than moving every message.
    #[arg(long, requires = "imap")]
    pub flag_in_place: bool,

    /// With --watch, when the server does not announce IDLE: look for new
    /// mail every this many seconds (1 to 86400).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, requires = "watch",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub poll_seconds: u64,

    /// With --watch: end and re-issue IDLE after this many seconds without
    /// news (servers may log an IDLE client off after 30 minutes; lower it
    /// where a firewall drops quiet connections sooner). 1 to 1740.
    #[arg(long, value_name = "SECONDS", default_value_t = 1500, requires = "watch",
          value_parser = clap::value_parser!(u64).range(1..=1740))]
    pub idle_seconds: u64,

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
        let ca_file = config
            .bounces
            .imap_ca_file
            .as_ref()
            .map(|p| config.resolve(p));
        let connect = Connect::new(url, password, ca_file.as_deref(), timeout(config))?
            .flag_in_place(args.flag_in_place);
        let mut printer = Printer::new(args.show_addresses, connect.url().shown.clone());
        printer.flag_in_place = args.flag_in_place;
        let mut run = new_run(config)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Usage(format!("cannot start the IMAP client: {e}")))?;
        rt.block_on(from_imap(&mut run, &connect, &args, &mut printer))?;
        printer.summary(run.tally());
        return Ok(ExitCode::SUCCESS);
    }
    let files = collect(&args.paths)?;
    if args.dry_run {
        return dry_run(&files);
    }
    let mut run = new_run(config)?;
    let printer = Printer::new(args.show_addresses, String::new());
    for file in &files {
        let raw = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
        let outcome = run.message(&file.display().to_string(), &raw)?;
        printer.outcome(&outcome);
    }
    printer.summary(run.tally());
    Ok(ExitCode::SUCCESS)
}

fn timeout(config: &Config) -> std::time::Duration {
    letterpress::send::engine::seconds(
        config.smtp.timeout_seconds,
        &letterpress::config::TIMEOUT_SECONDS,
    )
}

/// The list, the policy and the store of this project, as one run.
fn new_run(config: &Config) -> Result<Run> {
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
    Ok(Run::new(roster, policy, store))
}

/// The mailbox, drained; with --watch, then watched until SIGINT/SIGTERM.
async fn from_imap(
    run: &mut Run,
    connect: &Connect,
    args: &Args,
    printer: &mut Printer,
) -> Result<()> {
    let folders = Folders {
        processed: args.processed.clone(),
        needs_look: args.needs_a_look.clone(),
    };
    let mut mailbox = Mailbox::open(connect).await?;
    let mut progress = |p: Progress<'_>| printer.progress(p);
    if !args.watch {
        run.drain(connect, &mut mailbox, &folders, &mut progress)
            .await?;
        mailbox.logout().await;
        return Ok(());
    }
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| Error::Usage(format!("cannot handle SIGINT: {e}")))?;
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| Error::Usage(format!("cannot handle SIGTERM: {e}")))?;
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            let _ = stop_tx.send(true);
            // Keep the sender: a closed channel would read as "never stop".
            std::future::pending::<()>().await;
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
        std::future::pending::<()>().await;
    });
    let settings = WatchSettings {
        idle_renew: Duration::from_secs(args.idle_seconds),
        poll: Duration::from_secs(args.poll_seconds),
        ..WatchSettings::default()
    };
    run.watch(connect, mailbox, &folders, &settings, stop, &mut progress)
        .await
}

/// Prints what a run does: a line per event, notes on stderr, the summary.
struct Printer {
    show_addresses: bool,
    /// The mailbox URL (for watch notes; never holds a password).
    url: String,
    /// Whether "waiting for new mail" was said since the last (re)connect.
    said_waiting: bool,
    /// `--flag-in-place`: flags by choice, not for want of MOVE.
    flag_in_place: bool,
}

impl Printer {
    fn new(show_addresses: bool, url: String) -> Printer {
        Printer {
            show_addresses,
            url,
            said_waiting: false,
            flag_in_place: false,
        }
    }

    fn show(&self, a: &str) -> String {
        if self.show_addresses {
            a.to_string()
        } else {
            AddressKey::parse(a).map_or_else(|_| "(unparsable address)".into(), |k| k.masked())
        }
    }

    fn progress(&mut self, p: Progress<'_>) {
        match p {
            Progress::Message(o) => self.outcome(o),
            Progress::NoMove => eprintln!(
                "note: {}: counted messages are flagged \\Seen and {}, unrecognised ones {}, \
                 where they are",
                if self.flag_in_place {
                    format!("{} (--flag-in-place)", self.url)
                } else {
                    format!("{} cannot MOVE", self.url)
                },
                imap::PROCESSED_KEYWORD,
                imap::NEEDS_LOOK_KEYWORD
            ),
            Progress::Waiting { idle, poll } => {
                if !self.said_waiting {
                    self.said_waiting = true;
                    if idle {
                        eprintln!("watching {}: waiting for new mail (IDLE)", self.url);
                    } else {
                        eprintln!(
                            "watching {}: the server has no IDLE; looking for new mail every {} s",
                            self.url,
                            poll.as_secs()
                        );
                    }
                }
            }
            Progress::Reconnecting { error, after } => {
                self.said_waiting = false;
                eprintln!("{error}; connecting again in {} s", after.as_secs().max(1));
            }
            Progress::Reconnected => eprintln!("reconnected to {}", self.url),
        }
    }

    /// Prints what one message did.
    fn outcome(&self, o: &Outcome) {
        let label = &o.label;
        let Processed::Counted(_, decision) = &o.processed else {
            return;
        };
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

    fn summary(&self, tally: &Tally) {
        println!(
            "{} messages: {} hard bounces, {} soft bounces, {} complaints, {} unsubscribes, \
             {} sender problems, {} auto-replies, {} notices, {} not on the list, {} already counted, \
             {} need a look{}",
            tally.messages,
            tally.hard,
            tally.soft,
            tally.complaints,
            tally.unsubscribes,
            tally.sender,
            tally.auto_replies,
            tally.notices,
            tally.not_on_list,
            tally.already,
            tally.needs_look.len(),
            if tally.forged > 0 {
                format!(", {} forged VERP tags refused", tally.forged)
            } else {
                String::new()
            }
        );
        if !tally.needs_look.is_empty() {
            // One write for the list, not one per line.
            let mut list = String::from("needs a look (not recognised, nothing recorded):\n");
            for f in &tally.needs_look {
                list.push_str("  ");
                list.push_str(f);
                list.push('\n');
            }
            print!("{list}");
        }
    }
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
