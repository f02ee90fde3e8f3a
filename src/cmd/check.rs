//! `letterpress check`: pre-flight checks, and `--fix` for mojibake.

use std::path::PathBuf;
use std::process::ExitCode;

use letterpress::check::has_errors;
use letterpress::compose::Composer;
use letterpress::config::Config;
use letterpress::diagnostic::Severity;
use letterpress::fs::{read_text, write_file};
use letterpress::pipeline::compose_file;
use letterpress::{issue, mojibake, Result};

use super::EXIT_CHECK_FAILED;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Issues to check: paths, or issue numbers looked up in the issues directory.
    #[arg(required = true)]
    pub issues: Vec<String>,
    /// Repair mojibake in place, keeping the original as `<file>.bak`.
    #[arg(long)]
    pub fix: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Runs `check`.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    let composer = Composer::new(config)?;
    let issues_dir = config.resolve(&config.paths.issues);
    let mut failed = false;
    for arg in &args.issues {
        let path = issue::resolve(arg, &issues_dir)?;
        if args.fix {
            fix(&path)?;
        }
        let composed = match compose_file(&composer, &path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
                continue;
            }
        };
        let mut errors = 0;
        let mut warnings = 0;
        for d in &composed.diagnostics {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            eprintln!("{d}");
        }
        if !composed.issue.front.extra.is_empty() {
            let keys: Vec<String> = composed
                .issue
                .front
                .extra
                .keys()
                .map(|k| format!("issue.extra.{k}"))
                .collect();
            println!(
                "{}: other front matter, available to templates: {}",
                path.display(),
                keys.join(", ")
            );
        }
        let verdict = if has_errors(&composed.diagnostics) || (args.strict && warnings > 0) {
            failed = true;
            "FAIL"
        } else {
            "ok"
        };
        println!(
            "{}: {verdict} ({errors} errors, {warnings} warnings; HTML {} bytes, text {} bytes)",
            path.display(),
            composed.email.html.len(),
            composed.email.text.len()
        );
    }
    Ok(if failed {
        ExitCode::from(EXIT_CHECK_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Repairs mojibake in `path`, keeping a `.bak` copy of the original.
fn fix(path: &std::path::Path) -> Result<()> {
    let text = read_text(path)?;
    let Some(report) = mojibake::scan(&text) else {
        println!("{}: no mojibake to fix", path.display());
        return Ok(());
    };
    let mut backup = path.as_os_str().to_owned();
    backup.push(".bak");
    let backup = PathBuf::from(backup);
    write_file(&backup, &text)?;
    write_file(path, &report.repaired)?;
    println!(
        "{}: repaired {} sequences mis-decoded as {}; original kept in {}",
        path.display(),
        report.findings.len(),
        report.encoding.name(),
        backup.display()
    );
    Ok(())
}
