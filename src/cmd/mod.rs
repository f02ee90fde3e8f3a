//! Subcommands, one file each. `run` dispatches.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use letterpress::config::Config;
use letterpress::Result;

pub mod audience;
pub mod bounces;
pub mod check;
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

/// Compose a Markdown newsletter issue into a responsive email, preview it, check it and send it.
#[derive(Debug, Parser)]
#[command(
    name = "letterpress",
    version,
    about,
    after_help = "Exit codes: 0 success; 1 error (bad input, configuration or I/O; the message names the file); \
2 bad command line; 3 `check` found errors; 4 `send` finished with failed or deferred recipients."
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
    match cli.command {
        Command::Preview(args) => preview::run(args, &config()?),
        Command::Check(args) => check::run(args, &config()?),
        Command::Send(args) => send::run(args, &config()?),
        Command::Serve(args) => serve::run(args, &cli.config),
        Command::New(args) => new::run(args, &config()?),
        Command::Audience(args) => audience::run(args, &config()?),
        Command::Listen(args) => listen::run(args, &config()?),
        Command::Bounces(args) => bounces::run(args, &config()?),
    }
}
