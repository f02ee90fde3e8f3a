//! `letterpress listen`: the public service behind the unsubscribe URL.
use std::net::SocketAddr;
use std::process::ExitCode;

use letterpress::config::Config;
use letterpress::listen::{run as serve, Options};
use letterpress::Result;

/// Arguments of `listen`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The address and port to listen on. Keep it on loopback behind a TLS
    /// reverse proxy (docs/deploy.md); port 0 picks a free one (printed).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8041")]
    pub bind: SocketAddr,
    /// Commit every request in its own transaction instead of in groups.
    /// Only to measure the floor in bench/listen.sh: far slower, never in production.
    #[arg(long)]
    pub commit_each: bool,
}

/// Runs `listen` until SIGINT or SIGTERM.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    serve(
        config,
        &Options {
            bind: args.bind,
            commit_each: args.commit_each,
            sns: letterpress::listen::SnsTrust::public(),
        },
    )?;
    Ok(ExitCode::SUCCESS)
}
