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
    let cd = if args.dir == std::path::Path::new(".") {
        String::new()
    } else {
        format!("cd {} && ", args.dir.display())
    };
    out += &format!(
        "\nNext: {cd}edit letterpress.toml (every example.com value), then\n\
         \x20 letterpress preview 1       # writes out/001-welcome.html, .txt, .mjml, .eml\n\
         \x20 letterpress serve 1 --open  # live preview in the browser\n\
         \x20 letterpress new --title \"Issue two\"\n"
    );
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
