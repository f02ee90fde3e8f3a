//! `letterpress send`: to test addresses, to the whole list, or to an outbox
//! folder (`--dry-run`).
//!
//! Safety rails, in order: the issue must pass `check` (unless `--test`,
//! `--dry-run` or `--force`); the whole list needs a typed confirmation or
//! `--yes` (and is refused with no terminal and no `--yes`); the journal
//! skips everyone already delivered and refuses to send a completed issue
//! again without `--resend`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use letterpress::audience::Skipped;
use letterpress::check;
use letterpress::compose::Composer;
use letterpress::config::Config;
use letterpress::issue;
use letterpress::message::{MessageOptions, MessageTemplate, Recipient};
use letterpress::pipeline::{compose_file, unsubscribe_secret};
use letterpress::send::campaign::{self, Campaign};
use letterpress::send::{self, dkim, Delivery, Limits, Report, SmtpSettings, Transport};
use letterpress::subscribers;
use letterpress::{Error, Result};

use super::{EXIT_CHECK_FAILED, EXIT_SEND_INCOMPLETE};

/// Arguments of `send`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every recipient got the message; 3 the issue has check errors (see --force); \
4 some recipients failed or were deferred (run `send` again to resume; see --retry-failed); 1 any other error.\n\n\
The password for smtp.username comes from $LETTERPRESS_SMTP_PASSWORD or smtp.password_command, never from a flag."
)]
pub struct Args {
    /// The issue: a path, or a number looked up in the issues directory.
    pub issue: String,

    /// Send only to these addresses (`ada@example.com` or `Ada <ada@example.com>`), as a test:
    /// the subject gets a `[TEST] ` prefix, nothing is journaled, no confirmation is asked,
    /// and an issue with check errors (e.g. a draft) may be tested.
    #[arg(long, value_name = "ADDR", num_args = 1.., conflicts_with_all = ["dry_run", "retry_failed", "resend"])]
    pub test: Vec<String>,

    /// Send to the whole list without asking for confirmation (for scripts). Without it,
    /// `send` asks on the terminal, and refuses when there is no terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Build every recipient's message through the same code path and write them as
    /// `.eml` files into the outbox folder; nothing is sent and nothing is journaled.
    #[arg(long)]
    pub dry_run: bool,

    /// The outbox folder for --dry-run; messages go into `<DIR>/<issue>/`, replacing the
    /// `.eml` files of an earlier dry run [default: `outbox` beside the config file].
    #[arg(long, value_name = "DIR", requires = "dry_run")]
    pub outbox: Option<PathBuf>,

    /// The SMTP server for this run, overriding smtp.url: `smtps://host:465` (implicit TLS),
    /// `smtp://host:587` (STARTTLS required) or `smtp://127.0.0.1:2525` (plaintext, loopback only).
    #[arg(long, value_name = "URL")]
    pub smtp: Option<String>,

    /// Parallel SMTP connections for this run, overriding smtp.connections.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub connections: Option<u16>,

    /// Send at most this many messages per second (across all connections), overriding
    /// smtp.rate_per_second (0.001 to 100000).
    #[arg(long, value_name = "PER_SECOND", value_parser = send::engine::parse_rate)]
    pub rate: Option<f64>,

    /// The subscriber list for this run, overriding paths.subscribers.
    #[arg(long, value_name = "PATH")]
    pub subscribers: Option<PathBuf>,

    /// Also send to recipients whose earlier attempt failed permanently (a 5xx reply),
    /// e.g. after fixing the relay's configuration. Works on a completed issue too.
    #[arg(long)]
    pub retry_failed: bool,

    /// Send the issue to every active subscriber again, even those the journal shows as
    /// delivered. The journal keeps the old records but they no longer count.
    #[arg(long)]
    pub resend: bool,

    /// Send to the list even though `check` reports errors (such as `draft: true`).
    #[arg(long)]
    pub force: bool,

    /// Send without first pulling the unsubscribes of the `listen` at audience.remote_url
    /// (which otherwise must succeed). Only when you know it has nothing new: readers who
    /// unsubscribed there since the last pull would be mailed.
    #[arg(long)]
    pub skip_remote: bool,

    /// Allow an unencrypted SMTP connection to a server that is not on this machine
    /// (addresses and the password would cross the network in clear).
    #[arg(long)]
    pub allow_plaintext: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Test,
    DryRun,
    List,
}

/// Runs `send`.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    // Every file a send creates holds readers' addresses (journal, problems
    // report, audience store, outbox): owner-only, 0600 files in 0700 folders.
    #[cfg(unix)]
    // SAFETY: umask only sets this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let mode = if !args.test.is_empty() {
        Mode::Test
    } else if args.dry_run {
        Mode::DryRun
    } else {
        Mode::List
    };
    if let Some(r) = args.rate {
        if !(r > 0.0 && r.is_finite()) {
            return Err(Error::Usage(format!(
                "--rate {r}: must be a positive number of messages per second"
            )));
        }
    }
    let path = issue::resolve(&args.issue, &config.resolve(&config.paths.issues))?;
    let composer = Composer::new(config)?;
    let composed = compose_file(&composer, &path)?;
    for d in &composed.diagnostics {
        eprintln!("{d}");
    }
    if check::has_errors(&composed.diagnostics) {
        match mode {
            Mode::List if !args.force => {
                eprintln!(
                    "refusing to send {} to the list: `check` found errors (above). Fix them, try it with --test ADDR, or pass --force.",
                    path.display()
                );
                return Ok(ExitCode::from(EXIT_CHECK_FAILED));
            }
            Mode::List => eprintln!("warning: sending despite check errors (--force)"),
            _ => eprintln!("note: the issue has check errors; fine for a test, but `send` to the list will refuse it"),
        }
    }

    let dkim = match &config.dkim {
        Some(d) => Some(Arc::new(dkim::load(d, &config.resolve(&d.private_key))?)),
        None => None,
    };
    let template = MessageTemplate::new(
        &composed.email,
        &composed.issue,
        config,
        MessageOptions {
            test: mode == Mode::Test,
            unsubscribe_secret: unsubscribe_secret(config, false),
            dkim,
        },
    )?;
    let mut smtp = config.smtp.clone();
    if let Some(n) = args.connections {
        smtp.connections = usize::from(n);
    }
    if args.rate.is_some() {
        smtp.rate_per_second = args.rate;
    }
    let limits = Limits::from_config(&smtp);
    let key = send::issue_key(&composed.issue);
    let journal_path = config
        .resolve(&config.paths.journal)
        .join(format!("{key}.journal"));
    let smtp_settings = || -> Result<Arc<SmtpSettings>> {
        let domain = config.from_mailbox().email.domain().to_string();
        Ok(Arc::new(SmtpSettings::new(
            &smtp,
            args.smtp.as_deref(),
            args.allow_plaintext,
            &domain,
            &config.root,
        )?))
    };

    match mode {
        Mode::Test => {
            let recipients = args
                .test
                .iter()
                .map(|a| parse_test_address(a))
                .collect::<Result<Vec<_>>>()?;
            let settings = smtp_settings()?;
            println!(
                "sending a test of {} to {} via {}",
                composed.issue.path.display(),
                recipients
                    .iter()
                    .map(|r| r.email.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                settings.url
            );
            let report = run_delivery(Delivery {
                template: Arc::new(template),
                recipients,
                transport: Transport::Smtp(settings),
                limits,
                journal: None,
                progress: indicatif::ProgressBar::hidden(),
                stop: Arc::new(AtomicBool::new(false)),
            })?;
            print!("{}", report.summary(usize::MAX));
            Ok(exit(&report))
        }
        Mode::DryRun => {
            let subs = load_subscribers(config, &args)?;
            let (sel, skipped, replay) =
                campaign::dry_run_selection(config, subs, &journal_path, &key, args.retry_failed)?;
            let dir = args
                .outbox
                .clone()
                .unwrap_or_else(|| config.resolve(std::path::Path::new("outbox")))
                .join(&key);
            clear_outbox(&dir)?;
            describe_skipped(&skipped);
            describe_selection(&sel, &replay);
            let report = run_delivery(Delivery {
                template: Arc::new(template),
                recipients: sel.recipients,
                transport: Transport::Outbox(dir.clone()),
                limits,
                journal: None,
                progress: send::report::progress_bar(0),
                stop: Arc::new(AtomicBool::new(false)),
            })?;
            println!(
                "dry run: wrote {} messages ({:.1} MB) to {} in {:.1} s; nothing was sent",
                report.sent,
                report.bytes as f64 / 1e6,
                dir.display(),
                report.elapsed.as_secs_f64()
            );
            if !report.all_sent() {
                print!("{}", report.summary(20));
            }
            Ok(exit(&report))
        }
        Mode::List => {
            let settings = smtp_settings()?;
            send_to_list(
                args,
                config,
                composed,
                template,
                limits,
                settings,
                &key,
                &journal_path,
            )
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn send_to_list(
    args: Args,
    config: &Config,
    composed: letterpress::pipeline::Composed,
    template: MessageTemplate,
    limits: Limits,
    settings: Arc<SmtpSettings>,
    key: &str,
    journal_path: &std::path::Path,
) -> Result<ExitCode> {
    let subs = load_subscribers(config, &args)?;
    let opts = campaign::Options {
        resend: args.resend,
        retry_failed: args.retry_failed,
        skip_remote: args.skip_remote,
    };
    let mut campaign = Campaign::open(config, subs, key, &composed.email, journal_path, opts)?;
    for note in &campaign.notes {
        eprintln!("note: {note}");
    }
    describe_skipped(&campaign.skipped);
    describe_selection(&campaign.selection, &campaign.replay);
    if campaign.selection.recipients.is_empty() {
        println!("nothing to send: every active subscriber has been handled");
        campaign.finish_empty()?;
        return Ok(ExitCode::SUCCESS);
    }
    let question = campaign
        .confirmation(&composed.email.subject, &settings.url, limits.connections)
        .question;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage(format!(
                "{question} There is no terminal to ask on, so nothing was sent; pass --yes to confirm from a script"
            )));
        }
        print!("{question} Type yes to send: ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Error::Usage(format!("cannot read the answer: {e}")))?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "yes" | "y") {
            println!("not sent");
            return Ok(ExitCode::from(EXIT_SEND_INCOMPLETE));
        }
    } else {
        println!("{question} (--yes)");
    }
    let (recipients, journal) = campaign.begin()?;
    let total = recipients.len();
    let report = run_delivery(Delivery {
        template: Arc::new(template),
        recipients,
        transport: Transport::Smtp(settings),
        limits,
        journal: Some(journal),
        progress: send::report::progress_bar(total),
        stop: Arc::new(AtomicBool::new(false)),
    })?;
    // The summary comes first, whatever the disk says.
    let skipped = campaign.skipped;
    let finished = campaign.finish(&report);
    print!("{}", report.summary(20));
    if skipped.total() > 0 {
        println!("{} (the audience store suppresses them)", skipped.summary());
    }
    let finished = match finished {
        Ok(f) => f,
        Err(e) => {
            let why = std::error::Error::source(&e)
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            eprintln!("error: {e}{why}; the journal holds every outcome written before this, so `letterpress send {}` resumes safely once the disk accepts writes again", args.issue);
            return Ok(ExitCode::from(EXIT_SEND_INCOMPLETE));
        }
    };
    if finished.hard_bounces > 0 {
        println!(
            "{} address(es) do not exist (hard bounce); recorded in the audience store, so later issues skip them (`letterpress audience` lists them)",
            finished.hard_bounces
        );
    }
    if let Some(problems) = &finished.problems {
        println!(
            "every failed and deferred recipient of this issue, with the server's reply: {}",
            problems.display()
        );
    }
    if !finished.complete {
        println!(
            "run `letterpress send {}` again to resume: delivered recipients are skipped",
            args.issue
        );
    } else if !report.failed.is_empty() {
        println!(
            "--retry-failed sends again to the {} failed recipients",
            report.failed.len()
        );
    }
    Ok(exit(&report))
}

fn exit(report: &Report) -> ExitCode {
    if report.all_sent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SEND_INCOMPLETE)
    }
}

/// Runs the engine on a single-threaded Tokio runtime (the work is I/O bound:
/// measured against smtp-sink it spends ~25% less CPU than the multi-threaded
/// one, which matters when the relay shares the machine); the first Ctrl-C
/// stops taking new recipients and lets the messages in flight finish, a
/// second one quits.
fn run_delivery(delivery: Delivery) -> Result<Report> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let stop = delivery.stop.clone();
    let progress = delivery.progress.clone();
    Ok(rt.block_on(async move {
        send::signals::stop_on_signals(stop, progress);
        send::deliver(delivery).await
    }))
}

fn load_subscribers(config: &Config, args: &Args) -> Result<subscribers::Subscribers> {
    let path = args
        .subscribers
        .clone()
        .unwrap_or_else(|| config.resolve(&config.paths.subscribers));
    let subs = subscribers::from_file(&path)?;
    let (active, unsubscribed, bounced) = subs.counts();
    println!(
        "{}: {active} active, {unsubscribed} unsubscribed, {bounced} bounced{}",
        path.display(),
        if subs.duplicates.is_empty() {
            String::new()
        } else {
            format!(
                ", {} duplicate address(es) mailed once",
                subs.duplicates.len()
            )
        }
    );
    for d in subs.duplicates.iter().take(10) {
        eprintln!(
            "{}:{}: duplicate of line {} ({}); mailed once",
            path.display(),
            d.line,
            d.first_line,
            d.email
        );
    }
    if subs.duplicates.len() > 10 {
        eprintln!("… and {} more duplicates", subs.duplicates.len() - 10);
    }
    Ok(subs)
}

fn describe_skipped(skipped: &Skipped) {
    if skipped.total() > 0 {
        println!(
            "audience store: {} of the active subscribers",
            skipped.summary()
        );
    }
}

fn describe_selection(sel: &send::Selection, replay: &send::Replay) {
    if replay.runs == 0 {
        return;
    }
    println!(
        "resuming: {} already delivered (skipped), {} failed earlier ({}), {} left from the earlier run (deferred or never attempted)",
        sel.already_delivered,
        sel.skipped_failed + sel.retrying_failed,
        if sel.retrying_failed > 0 {
            "retrying them"
        } else {
            "skipped; --retry-failed retries them"
        },
        sel.resumed
    );
    if !sel.in_doubt.is_empty() {
        println!(
            "{} recipient(s) were in flight when the last run stopped; they may have the message already and are sent again: {}",
            sel.in_doubt.len(),
            send::report::list(&sel.in_doubt, 10)
        );
    }
}

fn parse_test_address(a: &str) -> Result<Recipient> {
    let mailbox: lettre::message::Mailbox = a
        .parse()
        .map_err(|e| Error::Usage(format!("--test {a:?}: not an address ({e}); write ada@example.com or \"Ada <ada@example.com>\"")))?;
    if let Err(e) = letterpress::audience::address::validate(mailbox.email.as_ref()) {
        return Err(Error::Usage(format!("--test {a:?}: {e}")));
    }
    Ok(Recipient {
        email: mailbox.email,
        name: mailbox.name,
    })
}

/// Empties `<outbox>/<issue>/` of `.eml` files from an earlier dry run.
fn clear_outbox(dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))? {
        let p = entry.map_err(|e| Error::io("read", dir, e))?.path();
        if p.extension().is_some_and(|x| x == "eml") {
            std::fs::remove_file(&p).map_err(|e| Error::io("remove", &p, e))?;
        }
    }
    Ok(())
}
