//! `letterpress serve`: a live preview in the browser that reloads on save.
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use letterpress::config::Config;
use letterpress::serve::open::{open_browser, Opened};
use letterpress::serve::{serve, Options};
use letterpress::{issue, Error, Result};

/// The port `serve` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8040;

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The issue: a path, or a number looked up in the issues directory.
    pub issue: String,
    /// The port to listen on; 0 picks a free one (the URL printed shows which).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// The address to listen on. Keep the default (this machine only) unless
    /// you mean to show drafts to your whole network.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Open the page in the default browser ($BROWSER, open, or xdg-open).
    #[arg(long)]
    pub open: bool,
}

/// Runs `serve` until Ctrl-C.
pub fn run(args: Args, config_path: &Path) -> Result<ExitCode> {
    let issue = find_issue(&args.issue, config_path)?;
    let opts = Options {
        issue,
        config: config_path.to_path_buf(),
        addr: SocketAddr::new(args.host, args.port),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let open = args.open;
    let shown = opts.issue.display().to_string();
    let ready = move |addr: SocketAddr| {
        let url = format!("http://{addr}/");
        println!("Live preview of {shown} at {url}");
        if !addr.ip().is_loopback() {
            println!("Listening on {} is reachable from other machines: anyone there can read this draft.", addr.ip());
        }
        println!("Watching the issue, its templates and the config; save to reload. Ctrl-C stops.");
        if open {
            match open_browser(&url) {
                Opened::With(program) => println!("Opened {url} with {program}."),
                Opened::Not(why) => println!("Not opening a browser: {why}; open {url} yourself."),
            }
        }
        let _ = std::io::stdout().flush();
    };
    runtime.block_on(serve(opts, ready, shutdown_signal()))?;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The issue's path: `arg` as a path, or a number looked up in the config's
/// issues directory. A broken config does not stop `serve` when `arg` is a
/// path: the page shows the config error and recovers when it is fixed.
fn find_issue(arg: &str, config_path: &Path) -> Result<PathBuf> {
    match Config::from_file(config_path) {
        Ok(config) => issue::resolve(arg, &config.resolve(&config.paths.issues)),
        Err(e) => {
            let p = PathBuf::from(arg);
            if p.is_file() {
                Ok(p)
            } else {
                Err(e)
            }
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
