//! `letterpress archive`: build the web archive and feed of every published issue.
use std::path::PathBuf;
use std::process::ExitCode;

use letterpress::archive;
use letterpress::config::Config;
use letterpress::Result;

/// Arguments of `archive`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to build the site in; it is replaced as a whole, and only
    /// when something changed [default: `archive.out` from the config, else `public`].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Runs `archive`: builds the site and says what changed.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    let out = args.out.unwrap_or_else(|| {
        config.resolve(
            config
                .archive
                .out
                .as_deref()
                .unwrap_or(std::path::Path::new("public")),
        )
    });
    let report = archive::build(config, &out)?;
    let mut msg = format!(
        "{} issues ({} composed, {} from the cache; {} drafts left out) -> {}\n",
        report.issues,
        report.composed,
        report.issues - report.composed,
        report.drafts,
        report.out.display()
    );
    if report.written.is_empty() && report.removed.is_empty() {
        msg += &format!(
            "nothing changed: {} files left as they were\n",
            report.unchanged
        );
    } else {
        msg += &format!(
            "{} files written, {} removed, {} unchanged\n",
            report.written.len(),
            report.removed.len(),
            report.unchanged
        );
    }
    print!("{msg}");
    let warnings: String = report
        .warnings
        .iter()
        .map(|w| format!("warning: {w}\n"))
        .collect();
    eprint!("{warnings}");
    Ok(ExitCode::SUCCESS)
}
