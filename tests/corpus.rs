//! Robustness over real newsletters in other dialects (`../shared/corpus`,
//! plus the seed): every issue must either compose or fail with a clear
//! message naming the file; none may panic. Skips when `../shared` is absent.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use letterpress::compose::Composer;
use letterpress::config::Config;
use letterpress::pipeline::compose_file;

#[test]
fn every_corpus_issue_composes_or_fails_clearly() {
    let Some(shared) = common::shared() else {
        eprintln!("SKIPPED (no ../shared beside the checkout): corpus robustness");
        return;
    };
    let config = Config::from_file(&common::root().join("letterpress.toml")).unwrap();
    let composer = Composer::new(&config).unwrap();
    let mut files = common::markdown_files(&shared.join("corpus"));
    files.extend(common::markdown_files(&shared.join("seeds")));
    assert!(
        files.len() >= 50,
        "expected the corpus, found {} files",
        files.len()
    );
    let (mut ok, mut failed) = (0, 0);
    for file in &files {
        let result = catch_unwind(AssertUnwindSafe(|| compose_file(&composer, file)));
        match result {
            Err(_) => panic!("{}: composing panicked", file.display()),
            Ok(Ok(c)) => {
                ok += 1;
                assert!(c.email.html.contains("<html"), "{}", file.display());
                // Code blocks (indented four spaces) may quote HTML; prose may not.
                let prose_html = c
                    .email
                    .text
                    .lines()
                    .filter(|l| !l.starts_with("    "))
                    .find(|l| {
                        [
                            "</p>", "</div>", "</td>", "</th>", "</tr>", "</table>", "</a>",
                            "</span>", "<br",
                        ]
                        .iter()
                        .any(|t| l.contains(t))
                    });
                assert!(
                    prose_html.is_none(),
                    "{}: HTML left in text: {prose_html:?}",
                    file.display()
                );
                assert!(c.sample.bytes.is_ascii(), "{}", file.display());
            }
            Ok(Err(e)) => {
                failed += 1;
                let msg = e.to_string();
                assert!(
                    msg.contains(&*file.to_string_lossy())
                        && msg.len() > file.to_string_lossy().len() + 20,
                    "{}: unclear error: {msg}",
                    file.display()
                );
            }
        }
    }
    eprintln!(
        "corpus: {ok} composed, {failed} failed with a clear message, of {}",
        files.len()
    );
    assert!(
        ok > files.len() / 2,
        "most corpus issues should compose: {ok} of {}",
        files.len()
    );
}

#[test]
fn cli_never_panics_on_corpus_sample() {
    let Some(shared) = common::shared() else {
        eprintln!("SKIPPED (no ../shared beside the checkout): corpus CLI run");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    // One file per dialect keeps this quick; the in-process test covers all files.
    for dir in [
        "this-week-in-rust",
        "bitcoin-optech",
        "bitcoin-optech-zh",
        "swift-weekly-brief",
    ] {
        let file = common::markdown_files(&shared.join("corpus").join(dir))
            .into_iter()
            .next()
            .unwrap();
        for args in [
            vec!["check"],
            vec!["preview", "--out", out.path().to_str().unwrap()],
        ] {
            let o = common::bin().args(&args).arg(&file).output().unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(!stderr.contains("panicked"), "{}: {stderr}", file.display());
            assert!(
                o.status.code().is_some_and(|c| c == 0 || c == 1 || c == 3),
                "{}: {:?}",
                file.display(),
                o.status
            );
            if !o.status.success() {
                assert!(
                    stderr.contains("error"),
                    "{}: non-zero exit without an error message",
                    file.display()
                );
            }
        }
    }
}
