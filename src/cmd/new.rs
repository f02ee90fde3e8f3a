//! `letterpress new` (being built).
use std::process::ExitCode;

use letterpress::config::Config;
use letterpress::{Error, Result};

/// Arguments of `new`.
#[derive(Debug, clap::Args)]
pub struct Args {
}

/// Runs `new`.
pub fn run(_args: Args, _config: &Config) -> Result<ExitCode> {
    Err(Error::Usage("new is not implemented yet".into()))
}
