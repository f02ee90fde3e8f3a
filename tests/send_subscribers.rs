//! The subscriber list at scale: the streaming parser agrees with the full
//! TOML parser on generated lists, and (ignored, run by hand or by
//! bench/send.sh) a measurement of a million subscribers.

mod common;

use std::time::Instant;

use letterpress::subscribers::{self, Status};

/// A list exercising every key, escapes, comments, CRLF and duplicates.
fn generated(n: usize) -> String {
    let mut s = String::from("# generated\n");
    for i in 0..n {
        let nl = if i % 5 == 0 { "\r\n" } else { "\n" };
        s.push_str(&format!("[[subscriber]]{nl}"));
        let email = if i % 97 == 3 {
            format!("User{}@Example.COM", i - 1)
        } else {
            format!("user{i}@example.com")
        };
        s.push_str(&format!("email = \"{email}\"{nl}"));
        match i % 4 {
            0 => s.push_str(&format!(
                "name = \"Ünïcode \\\"{i}\\\" \\u00e9 🍞\"  # a comment{nl}"
            )),
            1 => s.push_str(&format!("name = 'Literal {i}'{nl}")),
            2 => {}
            _ => s.push_str(&format!("  name = \"Tab\\u0020{i}\"{nl}")),
        }
        if i % 3 == 0 {
            s.push_str(&format!(
                "status = \"{}\"{nl}",
                ["active", "unsubscribed", "bounced"][i % 9 / 3]
            ));
        }
        if i % 2 == 0 {
            s.push_str(&format!("tags = [\"t{}\", 'x',]{nl}", i % 5));
        }
        if i % 6 == 0 {
            s.push_str(&format!("joined = 2024-0{}-1{}{nl}", 1 + i % 9, i % 10));
        }
        s.push_str(nl);
    }
    s
}

#[test]
fn streaming_parser_agrees_with_toml_on_a_generated_list() {
    let text = generated(3000);
    let fast = subscribers::parse(&text).unwrap();
    let slow = subscribers::parse_toml(&text).unwrap();
    assert_eq!(fast.list.len(), slow.list.len());
    assert!(!fast.duplicates.is_empty());
    assert_eq!(fast.duplicates, slow.duplicates);
    for (a, b) in fast.list.iter().zip(&slow.list) {
        assert_eq!(
            (&a.email, &a.name, a.status, a.joined, a.line),
            (&b.email, &b.name, b.status, b.joined, b.line)
        );
        assert_eq!(
            fast.tags_of(a).collect::<Vec<_>>(),
            slow.tags_of(b).collect::<Vec<_>>()
        );
    }
    assert!(fast.list.iter().any(|s| s.status == Status::Bounced));
    // And from a file, through the streaming reader.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.toml");
    std::fs::write(&p, &text).unwrap();
    let from_file = subscribers::from_file(&p).unwrap();
    assert_eq!(from_file.list, fast.list);
}

#[test]
fn errors_from_a_file_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.toml");
    std::fs::write(
        &p,
        "[[subscriber]]\nemail = \"a@example.com\"\n\n[[subscriber]]\nemail = \"b@@example.com\"\n",
    )
    .unwrap();
    let e = subscribers::from_file(&p).unwrap_err().to_string();
    assert!(
        e.contains(&format!("{}:5:", p.display())) && e.contains("invalid address"),
        "{e}"
    );
    std::fs::write(
        &p,
        b"[[subscriber]]\nemail = \"a@example.com\"\nname = \"\xff\"\n",
    )
    .unwrap();
    let e = subscribers::from_file(&p).unwrap_err().to_string();
    assert!(e.contains(":3:") && e.contains("UTF-8"), "{e}");
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        })
        .unwrap_or(0)
}

/// Run with `cargo test --release --test send_subscribers -- --ignored --nocapture --test-threads 1 one_million`.
/// Each path runs in its own process for a clean peak-RSS reading:
/// `LP_PATH=toml` selects the full TOML parser; `LP_COUNT=N` changes the size.
#[test]
#[ignore = "a measurement, not a check: run by hand"]
fn one_million_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("1m.toml");
    // LP_COUNT overrides the million (the TOML path needs minutes and gigabytes for it).
    let count: usize = std::env::var("LP_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1_000_000);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    for i in 0..count {
        use std::io::Write as _;
        write!(
            w,
            "[[subscriber]]\nemail = \"reader{i}@example.com\"\nname = \"Reader {i} Ünïcode\"\nstatus = \"active\"\ntags = [\"bench\", \"t{}\"]\njoined = 2024-{:02}-{:02}\n\n",
            i % 7,
            1 + i % 12,
            1 + i % 28
        )
        .unwrap();
    }
    drop(w);
    let size = std::fs::metadata(&p).unwrap().len();
    let base = peak_rss_kb();
    let t = Instant::now();
    let list = if std::env::var("LP_PATH").as_deref() == Ok("toml") {
        // The whole text plus a toml::Value-free serde pass into structs.
        let text = std::fs::read_to_string(&p).unwrap();
        subscribers::parse_toml(&text).unwrap()
    } else {
        subscribers::from_file(&p).unwrap()
    };
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(list.list.len(), count);
    println!(
        "{} path: {count} subscribers ({:.0} MB file) in {secs:.2} s; peak RSS {} MB (the generator's own peak before loading: {} MB)",
        std::env::var("LP_PATH").unwrap_or_else(|_| "streaming".into()),
        size as f64 / 1e6,
        peak_rss_kb() / 1024,
        base / 1024
    );
}
