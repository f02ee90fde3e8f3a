//! `letterpress serve` (being built).
use std::path::Path;
use std::process::ExitCode;

use letterpress::{Error, Result};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The issue: a path, or a number looked up in the issues directory.
    pub issue: String,
}

/// Runs `serve`.
pub fn run(_args: Args, _config_path: &Path) -> Result<ExitCode> {
    Err(Error::Usage("serve is not implemented yet".into()))
}
