//! Prints `N` one-click paths (`/unsubscribe/TOKEN`), one per line, each for a
//! distinct reader (`reader{i}@bench.example`), sealed with the list secret in
//! `$LETTERPRESS_UNSUBSCRIBE_SECRET` for the list of the config given: the
//! input of bench/listen.sh's wrk script.
//!
//! Usage: `listen_tokens CONFIG N > paths.txt`

use std::io::Write;

use letterpress::audience::{AddressKey, Tokens};
use letterpress::config::Config;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(config), Some(n)) = (args.next(), args.next()) else {
        return Err("usage: listen_tokens CONFIG N".into());
    };
    let config = Config::from_file(std::path::Path::new(&config))?;
    let secret = std::env::var("LETTERPRESS_UNSUBSCRIBE_SECRET")?;
    let tokens = Tokens::new(secret.as_bytes()).map_err(|e| e.to_string())?;
    let list = config.list_id();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for i in 0..n.parse::<usize>()? {
        let key = AddressKey::parse(&format!("reader{i}@bench.example"))?;
        writeln!(out, "/unsubscribe/{}", tokens.unsubscribe(&list, &key))?;
    }
    out.flush()?;
    Ok(())
}
