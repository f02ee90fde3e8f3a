//! `letterpress import FILE…`: merge other platforms' exports into the
//! subscriber list (see [`letterpress::import`] for the rules).
use std::path::PathBuf;
use std::process::ExitCode;

use letterpress::config::Config;
use letterpress::import::{self, Options, Platform};
use letterpress::{Error, Result};

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Platforms are told by the export's header: Substack, Mailchimp (the audience zip, or its \
subscribed_/unsubscribed_/cleaned_ CSVs), Buttondown, listmonk, Ghost, Beehiiv, Keila, Revue, or any CSV with an \
`email` column. An address unsubscribed, bounced or complained in any export, in the list or in the audience store \
is never made active, and is recorded in the store. Running the same import again changes nothing."
)]
pub struct Args {
    /// The export files: CSVs, or Mailchimp's zip (read without unpacking).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The platform of every FILE, when its header does not tell.
    #[arg(long, value_enum, value_name = "NAME")]
    pub from: Option<Platform>,

    /// Print what would change (added, updated, suppressed, skipped) and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Import the good rows even when some are bad (the bad ones are still listed).
    /// Without it, any bad row means nothing is written.
    #[arg(long)]
    pub skip_invalid: bool,

    /// Let an address that an export lists as active come back even though it is
    /// unsubscribed elsewhere (another export, the list or the store). Bounced or
    /// complained addresses stay suppressed; lift those one by one.
    #[arg(long)]
    pub resubscribe: bool,

    /// The subscriber list to merge into, overriding paths.subscribers (created if absent).
    #[arg(long, value_name = "PATH")]
    pub subscribers: Option<PathBuf>,
}

/// Runs `import`: lists bad rows on stderr, prints the summary on stdout.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    let list = config.resolve(
        args.subscribers
            .as_ref()
            .unwrap_or(&config.paths.subscribers),
    );
    let store = config.resolve(&config.audience.store);
    let options = Options {
        from: args.from,
        resubscribe: args.resubscribe,
    };
    let prepared = import::prepare(&args.files, &list, &store, options)?;
    for sheet in &prepared.sheets {
        eprintln!(
            "{}: {} row(s), read as {}",
            sheet.label,
            sheet.rows,
            sheet.platform.as_str()
        );
    }
    for bad in &prepared.bad {
        eprintln!("{bad}");
    }
    if !prepared.bad.is_empty() && !args.skip_invalid {
        return Err(Error::Usage(format!(
            "{} bad row(s) (listed above); nothing was written. Fix them, or pass --skip-invalid to import the rest",
            prepared.bad.len()
        )));
    }
    let changes = prepared.changes_anything();
    let summary = if args.dry_run {
        let mut s = prepared.summary;
        s.skipped += prepared.bad.len() as u64;
        s
    } else {
        prepared.commit(args.skip_invalid)?
    };
    println!(
        "{} added, {} updated, {} suppressed, {} skipped, {} unchanged{}",
        summary.added,
        summary.updated,
        summary.suppressed,
        summary.skipped,
        summary.unchanged,
        if summary.resubscribed > 0 {
            format!(", {} resubscribed", summary.resubscribed)
        } else {
            String::new()
        }
    );
    if args.dry_run {
        println!(
            "dry run: nothing written (without --dry-run, these changes go to {})",
            list.display()
        );
    } else if !changes {
        println!(
            "{} and the audience store already have everything; nothing written",
            list.display()
        );
    } else {
        println!("wrote {}", list.display());
    }
    Ok(ExitCode::SUCCESS)
}
