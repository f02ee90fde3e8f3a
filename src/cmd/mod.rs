//! Subcommands, one file each. `run` dispatches.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use letterpress::config::Config;
use letterpress::Result;

pub mod archive;
pub mod audience;
pub mod bounces;
pub mod check;
pub mod doctor;
pub mod import;
pub mod init;
pub mod listen;
pub mod new;
pub mod preview;
pub mod send;
pub mod serve;

/// Exit code: the command could not do its job (bad input, I/O, config).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: `check` found errors in an issue.
pub const EXIT_CHECK_FAILED: u8 = 3;
/// Exit code: `send` finished but some recipients failed or were deferred.
pub const EXIT_SEND_INCOMPLETE: u8 = 4;
/// Exit code: `doctor` found a failure Gmail or Outlook.com enforce.
pub const EXIT_DOCTOR_FAILED: u8 = 5;

/// Compose a Markdown newsletter issue into a responsive email, preview it, check it and send it.
#[derive(Debug, Parser)]
#[command(
    name = "letterpress",
    version,
    about,
    after_help = "Exit codes: 0 success; 1 error (bad input, configuration or I/O; the message names the file); \
2 bad command line; 3 `check` found errors; 4 `send` finished with failed or deferred recipients; \
5 `doctor` found a failure Gmail or Outlook.com enforce."
)]
pub struct Cli {
    /// The configuration file; relative paths in it resolve against its directory.
    #[arg(
        long,
        global = true,
        default_value = "letterpress.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a newsletter: a commented letterpress.toml, templates, a first issue and a .gitignore.
    Init(init::Args),
    /// Render an issue to HTML, text, MJML and a sample .eml without sending anything.
    Preview(preview::Args),
    /// Run pre-flight checks on issues; exits 3 when any has errors.
    Check(check::Args),
    /// Send an issue to test addresses or to the whole subscriber list.
    Send(send::Args),
    /// Serve a live preview that reloads when the issue, templates or config change.
    Serve(serve::Args),
    /// Write the next issue file from templates/new-issue.md.
    New(new::Args),
    /// Check SPF, DKIM, DMARC, MX, the unsubscribe URL, the secret and TLS on the relay.
    Doctor(doctor::Args),
    /// Build the web archive: a page per issue, an index, an Atom feed and a sitemap.
    Archive(archive::Args),
    /// Merge exports from Substack, Mailchimp, Buttondown, listmonk, Ghost, Beehiiv, Keila,
    /// Revue or a plain CSV into the subscriber list.
    Import(import::Args),
    /// Show who may be mailed and what came back; unsubscribe, resubscribe or export by hand.
    Audience(audience::Args),
    /// Serve the unsubscribe URL of every message (the public service; see docs/deploy.md).
    Listen(listen::Args),
    /// Read returned mail (bounces, complaints, auto-replies, unsubscribe requests) into the audience store.
    Bounces(bounces::Args),
}

/// Runs the command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let config = || Config::from_file(&cli.config);
    // Commands that talk to no socket end quietly when their output is cut
    // (`letterpress audience | head`), as Unix tools do, instead of panicking
    // in `println!`. Those that write to sockets keep SIGPIPE ignored, so a
    // peer that hangs up is an error they handle, never a silent death.
    if matches!(
        cli.command,
        Command::Init(_)
            | Command::Preview(_)
            | Command::Check(_)
            | Command::New(_)
            | Command::Archive(_)
            | Command::Import(_)
            | Command::Audience(_)
    ) {
        default_sigpipe();
    }
    match cli.command {
        Command::Init(args) => init::run(args),
        Command::Preview(args) => preview::run(args, &config()?),
        Command::Check(args) => check::run(args, &config()?),
        Command::Send(args) => send::run(args, &config()?),
        Command::Serve(args) => serve::run(args, &cli.config),
        Command::New(args) => new::run(args, &config()?),
        Command::Doctor(args) => doctor::run(args, &config()?),
        Command::Archive(args) => archive::run(args, &config()?),
        Command::Import(args) => import::run(args, &config()?),
        Command::Audience(args) => audience::run(args, &config()?),
        Command::Listen(args) => listen::run(args, &config()?),
        Command::Bounces(args) => bounces::run(args, &config()?),
    }
}

/// Restores the default action of SIGPIPE (Rust ignores it at start-up).
fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called before any thread is started; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
