//! `letterpress doctor`: will Gmail and Outlook.com accept the mail? Prints
//! each check as pass/warn/fail with the fix.
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use letterpress::config::Config;
use letterpress::doctor::{self, Options, Status};
use letterpress::{Error, Result};

use super::EXIT_DOCTOR_FAILED;

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ask this DNS server (e.g. 127.0.0.1:5353) instead of the system's resolvers.
    #[arg(long, value_name = "ADDR:PORT")]
    pub dns: Option<SocketAddr>,

    /// Seconds to wait for each network probe (HTTP, SMTP).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
}

/// Runs `doctor`: exits 5 when a check Gmail or Outlook.com enforce fails.
pub fn run(args: Args, config: &Config) -> Result<ExitCode> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(Error::Usage(format!(
            "--timeout {}: give a positive number of seconds",
            args.timeout
        )));
    }
    let opts = Options {
        dns: args.dns,
        timeout: Duration::from_secs_f64(args.timeout),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let report = rt.block_on(doctor::run(config, &opts))?;
    for check in &report.checks {
        println!(
            "{}  {:<11} {}",
            check.status.label(),
            check.name,
            check.summary
        );
        if let Some(fix) = check.fix.as_ref().filter(|_| check.status != Status::Pass) {
            println!("      {:<11} fix: {fix}", "");
        }
    }
    let failed: Vec<&str> = report.enforced_failures().map(|c| c.name).collect();
    if failed.is_empty() {
        eprintln!("doctor: nothing Gmail or Outlook.com enforce is failing");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "doctor: {} failing that Gmail or Outlook.com enforce; bulk mail would be rejected",
            failed.join(", ")
        );
        Ok(ExitCode::from(EXIT_DOCTOR_FAILED))
    }
}
