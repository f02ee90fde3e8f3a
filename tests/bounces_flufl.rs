//! The classifier against real bounces: the ~115 samples Mailman's bounce
//! detector `flufl.bounce` ships in its source distribution (collected from
//! real MTAs and providers over twenty years), and that detector's own
//! verdicts on the same files. The samples are downloaded at test time
//! (`pip download`), never copied into this repository.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use letterpress::bounces::classify::{self, Kind};

const VERSION: &str = "6.0.0";

/// Samples where letterpress and flufl.bounce deliberately disagree on the
/// addresses, and why. Every other sample must agree exactly.
/// A disagreement costs nothing at run time: an address that is not on the
/// list is never suppressed.
const DELIBERATE: &[(&str, &str)] = &[
    (
        "aol_01.txt",
        "AOL names a bare screen name without a domain; flufl's AOL detector \
         appends @aol.com, we do not guess addresses (and we report the \
         sender address the prose names, which is not on the list)",
    ),
    (
        "llnl_01.txt",
        "LLNL's reply lists directory look-up suggestions (user4@..., \
         lastnameNumber@...) beside the failed address; we report them too",
    ),
    (
        "yale_01.txt",
        "Yale's reply lists example addresses of its directory format; we \
         report them too, flufl's Yale detector derives userx@ from the To",
    ),
    (
        "yahoo_12.txt",
        "the only address is the original's restated `To:` header line; \
         restated header lines name the sender's side in most samples, so \
         we never read failures from them (VERP or the Message-ID attribute it)",
    ),
];

/// Downloads and unpacks flufl.bounce's sdist; returns its tests/data folder.
fn samples(tmp: &Path) -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
        ])
        .arg(format!("flufl.bounce=={VERSION}"))
        .arg("-d")
        .arg(tmp)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("pip download: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let tarball = tmp.join(format!("flufl_bounce-{VERSION}.tar.gz"));
    let ok = Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(tmp)
        .status()
        .ok()?
        .success();
    let data = tmp.join(format!("flufl_bounce-{VERSION}/tests/data"));
    (ok && data.is_dir()).then_some(data)
}

/// flufl.bounce's verdicts: file → (temporary ∪ permanent), lower-cased.
fn verdicts(data: &Path) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let script = common::root().join("tests/judges/flufl_verdicts.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(data)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "flufl_verdicts.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("judge JSON");
        let file = v["file"].as_str().unwrap().to_string();
        if v.get("error").is_some() {
            map.insert(file, None);
            continue;
        }
        let mut set = BTreeSet::new();
        for key in ["temporary", "permanent"] {
            for a in v[key].as_array().unwrap() {
                set.insert(a.as_str().unwrap().to_ascii_lowercase());
            }
        }
        map.insert(file, Some(set));
    }
    map
}

#[test]
fn agrees_with_flufl_bounce_on_real_samples() {
    if !common::has_python_module("flufl.bounce") {
        common::skip("python module flufl.bounce missing (pip install flufl.bounce)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = samples(tmp.path()) else {
        common::skip("pip download of the flufl.bounce sdist failed (offline?)");
        return;
    };
    let judge = verdicts(&data);
    assert!(judge.len() >= 110, "only {} samples", judge.len());
    let mut disagree = BTreeMap::new();
    let mut agree = 0;
    for (file, theirs) in &judge {
        let raw = std::fs::read(data.join(file)).unwrap();
        let report = classify::parse(&raw);
        let ours: BTreeSet<String> = match report.kind {
            Kind::Bounce => report
                .failures
                .iter()
                .map(|f| f.address.to_ascii_lowercase())
                .collect(),
            _ => BTreeSet::new(),
        };
        match theirs {
            Some(t) if *t == ours => agree += 1,
            _ => {
                disagree.insert(
                    file.clone(),
                    format!("{:?}: ours {ours:?}, flufl {theirs:?}", report.kind),
                );
            }
        }
    }
    println!("agree on {agree} of {} samples", judge.len());
    for (file, why) in &disagree {
        println!("  {file}: {why}");
    }
    let expected: BTreeSet<&str> = DELIBERATE.iter().map(|(f, _)| *f).collect();
    let got: BTreeSet<&str> = disagree.keys().map(String::as_str).collect();
    assert_eq!(
        got, expected,
        "disagreements differ from the documented list"
    );
}
