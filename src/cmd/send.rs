//! `letterpress send` (being built).
use std::process::ExitCode;

use letterpress::config::Config;
use letterpress::{Error, Result};

/// Arguments of `send`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The issue: a path, or a number looked up in the issues directory.
    pub issue: String,
}

/// Runs `send`.
pub fn run(_args: Args, _config: &Config) -> Result<ExitCode> {
    Err(Error::Usage("send is not implemented yet".into()))
}
