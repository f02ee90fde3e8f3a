//! `letterpress new`: write the next issue file from `templates/new-issue.md`.
use std::process::ExitCode;

use letterpress::config::Config;
use letterpress::new_issue;
use letterpress::Result;

/// Arguments of `new`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The issue's title (also names the file: `013-the-title.md`).
    #[arg(long, short)]
    pub title: Option<String>,
}

/// Runs `new`: prints the path of the file it wrote.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    let today = chrono::Local::now().date_naive();
    let plan = new_issue::create(config, args.title.as_deref(), today)?;
    // `./issues/013-x.md` reads better as `issues/013-x.md`.
    let shown = plan.path.strip_prefix(".").unwrap_or(&plan.path);
    println!("{}", shown.display());
    let cadence = config.schedule.cadence_days;
    eprintln!(
        "issue #{} dated {} (the last issue's date + {cadence} days, or today when there is none); it is marked `draft: true` until you remove that line",
        plan.number, plan.date
    );
    if plan.date < today {
        eprintln!(
            "note: {} is in the past; change `date:` in the file if this issue goes out later",
            plan.date
        );
    }
    Ok(ExitCode::SUCCESS)
}
