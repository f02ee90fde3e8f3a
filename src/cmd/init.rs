//! `letterpress init`: start a newsletter folder.

use std::path::PathBuf;
use std::process::ExitCode;

use letterpress::scaffold;
use letterpress::Result;

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to start the newsletter in; created when missing. Nothing is
    /// written when it already holds any of the files `init` writes.
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
}

/// Runs `init`: writes the folder and prints each file and what to do next.
pub fn run(args: Args) -> Result<ExitCode> {
    let today = chrono::Local::now().date_naive();
    let written = scaffold::create(&args.dir, today)?;
    let mut out = String::new();
    for path in &written {
        let shown = path.strip_prefix(".").unwrap_or(path);
        out += &format!("created {}\n", shown.display());
    }
    out += "\nNext:\n";
    if args.dir != std::path::Path::new(".") {
        out += &format!("  cd {}\n", args.dir.display());
    }
    out += "  $EDITOR letterpress.toml    # your name, sender and postal address: every example.com value\n\
            \x20 letterpress preview 1       # writes out/001-welcome.html, .txt, .mjml and .eml\n\
            \x20 letterpress serve 1 --open  # a live preview in the browser, reloading on save\n\
            \x20 letterpress new --title \"The second issue\"\n";
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
