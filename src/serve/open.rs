//! `serve --open`: hand the URL to the default browser, where there is one.

use std::process::{Command, Stdio};

/// How the URL was (or was not) opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// A browser program was started with the URL.
    With(String),
    /// Nothing was started; the reason, for the user.
    Not(String),
}

/// Opens `url` in the user's browser: `$BROWSER` when set (like Python's
/// `webbrowser`), else `open` on macOS, `start` on Windows, and `xdg-open`
/// elsewhere when a display (`DISPLAY` or `WAYLAND_DISPLAY`) exists.
/// Never blocks and never fails the server.
pub fn open_browser(url: &str) -> Opened {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let mut candidates: Vec<Vec<String>> = Vec::new();
    if let Some(b) = env("BROWSER") {
        // `$BROWSER` may list several programs separated by `:`; `%s` marks the URL.
        for program in b.split(':').filter(|p| !p.trim().is_empty()) {
            let mut words: Vec<String> = program.split_whitespace().map(str::to_string).collect();
            if words.iter().any(|w| w.contains("%s")) {
                for w in &mut words {
                    *w = w.replace("%s", url);
                }
            } else {
                words.push(url.to_string());
            }
            candidates.push(words);
        }
    } else if cfg!(target_os = "macos") {
        candidates.push(vec!["open".into(), url.into()]);
    } else if cfg!(windows) {
        candidates.push(vec![
            "cmd".into(),
            "/C".into(),
            "start".into(),
            String::new(),
            url.into(),
        ]);
    } else if env("DISPLAY").is_some() || env("WAYLAND_DISPLAY").is_some() {
        candidates.push(vec!["xdg-open".into(), url.into()]);
    } else {
        return Opened::Not("no display (DISPLAY and WAYLAND_DISPLAY are unset)".into());
    }
    let mut last_error = String::new();
    for words in candidates {
        let Some((program, args)) = words.split_first() else {
            continue;
        };
        match Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(mut child) => {
                // Reap it when it exits, so it does not linger as a zombie.
                std::thread::spawn(move || child.wait());
                return Opened::With(program.clone());
            }
            Err(e) => last_error = format!("cannot run {program}: {e}"),
        }
    }
    Opened::Not(last_error)
}
