//! The reference input, `../shared/seeds/dynamically-typed-040.md`, exactly
//! as the author handed it over (entity and trailing space in the title,
//! UTF-8 mis-decoded as Mac Roman). Skips where `../shared` is absent.

mod common;

const SUBJECT: &str = "#40: Pinterest's ML for board organization, GAN-aided pixel art, and Bayesian optimization gets the Distill treatment";

#[test]
fn seed_previews_with_the_right_subject_and_clean_text() {
    let Some(seed) = common::seed() else {
        eprintln!("SKIPPED (no ../shared beside the checkout): seed preview");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let o = common::bin()
        .args(["preview", "--out"])
        .arg(out.path())
        .arg(&seed)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains(&format!("subject:   {SUBJECT}\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains("preheader: Hey everyone, welcome to Dynamically Typed #40!"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(out.path().join("dynamically-typed-040.html")).unwrap();
    let text = std::fs::read_to_string(out.path().join("dynamically-typed-040.txt")).unwrap();
    for part in [&html, &text] {
        assert!(!part.contains("‚Ä"), "mojibake left in the output");
        assert!(part.contains("Productized Artificial Intelligence 🔌"));
        assert!(part.contains("Let’s dive in!"));
    }
    // The title's `&#x27;` is decoded: the text says `'`, and the HTML holds
    // `'` escaped once by the template (never `&amp;#x27;`, the entity as text).
    assert!(!text.contains("&#x27;"), "entity left in the title");
    assert!(!html.contains("&amp;#x27;"), "entity left in the title");
    assert!(
        html.contains("<title>#40: Pinterest&#x27;s ML")
            || html.contains("<title>#40: Pinterest's ML")
    );
    // The seed's links already carry utm_* parameters: they come out exactly as written.
    let link = "https://distill.pub/2020/bayesian-optimization/?utm_campaign=Dynamically%20Typed&amp;utm_medium=email&amp;utm_source=Revue%20newsletter";
    assert!(html.contains(link), "pre-tagged link was changed");
    assert!(text.contains(&link.replace("&amp;", "&")));
    // Figures: the italic paragraph after each image is its caption.
    assert_eq!(html.matches("<img ").count(), 3, "three figures");
    assert!(html.contains("Pixel-me at graduation."));
}

#[test]
fn seed_check_reports_mojibake_and_fix_restores_utf8() {
    let Some(seed) = common::seed() else {
        eprintln!("SKIPPED (no ../shared beside the checkout): seed check --fix");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("040.md");
    let original = std::fs::read_to_string(&seed).unwrap();
    std::fs::write(&copy, &original).unwrap();

    let o = common::bin().arg("check").arg(&copy).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("error[mojibake]") && stderr.contains("040.md:11:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`‚Äô` looks like `’` mis-decoded as Mac Roman"),
        "{stderr}"
    );

    let o = common::bin()
        .args(["check", "--fix"])
        .arg(&copy)
        .output()
        .unwrap();
    let fixed = std::fs::read_to_string(&copy).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("040.md.bak")).unwrap(),
        original,
        "backup is the original"
    );
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("mojibake"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for garbled in ["‚Äô", "‚Äú", "‚Äî", "üîå", "\u{F8FF}"] {
        assert!(!fixed.contains(garbled), "{garbled} left after --fix");
    }
    for restored in [
        "I’m covering Pinterest’s",
        "“veggie meals”",
        "point—like",
        "## Productized Artificial Intelligence 🔌",
        "## Cool Things ✨",
        "⚡️ Google’s",
    ] {
        assert!(fixed.contains(restored), "{restored} not restored");
    }
    // Only the mis-decoded characters changed: ASCII is byte-for-byte the same.
    let ascii = |s: &str| s.chars().filter(char::is_ascii).collect::<String>();
    assert_eq!(ascii(&fixed), ascii(&original));
    // A second --fix finds nothing to do.
    let o = common::bin()
        .args(["check", "--fix"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("no mojibake to fix"));
}
