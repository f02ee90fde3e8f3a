//! `letterpress preview`: write the email to files without sending anything.

use std::path::PathBuf;
use std::process::ExitCode;

use letterpress::compose::Composer;
use letterpress::config::Config;
use letterpress::fs::replace_file;
use letterpress::issue;
use letterpress::pipeline::compose_file;
use letterpress::Result;

/// Arguments of `preview`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The issue: a path, or an issue number looked up in the issues directory.
    pub issue: String,
    /// Directory to write `<stem>.html`, `.txt`, `.mjml` and `.eml` into [default: paths.out from the config].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Runs `preview`.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    let path = issue::resolve(&args.issue, &config.resolve(&config.paths.issues))?;
    let composer = Composer::new(config)?;
    let composed = compose_file(&composer, &path)?;
    let out = args
        .out
        .unwrap_or_else(|| config.resolve(&config.paths.out));
    let stem = composed.issue.stem();
    let files: [(&str, &[u8]); 4] = [
        ("html", composed.email.html.as_bytes()),
        ("txt", composed.email.text.as_bytes()),
        ("mjml", composed.email.mjml.as_bytes()),
        ("eml", &composed.sample.bytes),
    ];
    // Printed once at the end: one write each to stdout and stderr.
    let mut report = String::new();
    for (ext, bytes) in files {
        let file = out.join(format!("{stem}.{ext}"));
        replace_file(&file, bytes)?;
        report += &format!("{:>9}  {}\n", human_size(bytes.len()), file.display());
    }
    report += &format!("subject:   {}\n", composed.email.subject);
    report += &format!("preheader: {}\n", composed.email.preheader);
    print!("{report}");
    let diagnostics: String = composed
        .diagnostics
        .iter()
        .map(|d| format!("{d}\n"))
        .collect();
    eprint!("{diagnostics}");
    Ok(ExitCode::SUCCESS)
}

/// `12.3 KB` style sizes (1 KB = 1024 bytes).
pub fn human_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}
