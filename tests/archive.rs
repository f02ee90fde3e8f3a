//! `letterpress archive` end to end: the fixture site (tests/fixtures/archive,
//! published under a sub-path) as snapshots; its links, aliases and feed; the
//! no-change, template-change and broken-issue runs; the whole
//! `../shared/corpus`; and the outside judges: Python's feedparser,
//! html-validate and headless Chromium at 375 px (tests/browser/archive.mjs).

mod common;
mod serve_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use letterpress::archive::{self, AliasPlace, Site};
use letterpress::config::Config;

/// The fixture copied into a temporary folder: config, issues and templates
/// (so a test may edit them), with the cache inside the folder too.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let src = common::root().join("tests/fixtures/archive");
        copy_dir(&src.join("issues"), &dir.path().join("issues"));
        copy_dir(
            &common::root().join("templates"),
            &dir.path().join("templates"),
        );
        let config = std::fs::read_to_string(src.join("letterpress.toml"))
            .unwrap()
            .replace("../../../templates", "templates");
        std::fs::write(dir.path().join("letterpress.toml"), config).unwrap();
        Fixture { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> Config {
        Config::from_file(&self.path().join("letterpress.toml")).unwrap()
    }

    fn out(&self) -> PathBuf {
        self.path().join("public")
    }

    fn build(&self) -> archive::Report {
        archive::build(&self.config(), &self.out()).unwrap()
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.out().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Every file under `dir`, site-relative, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The `(inode, mtime)` of every file under `dir`.
fn stamps(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    tree(dir)
        .keys()
        .map(|rel| {
            let m = std::fs::metadata(dir.join(rel)).unwrap();
            (rel.clone(), (m.ino(), m.modified().unwrap()))
        })
        .collect()
}

/// The values of attribute `name` (double-quoted) in `html`, entities decoded.
fn attrs(html: &str, name: &str) -> Vec<String> {
    let key = format!(" {name}=\"");
    html.match_indices(&key)
        .filter_map(|(i, _)| {
            let rest = &html[i + key.len()..];
            rest.find('"')
                .map(|end| html_escape::decode_html_entities(&rest[..end]).into_owned())
        })
        .collect()
}

/// Every HTML page of a built site, site-relative.
fn pages(out: &Path) -> Vec<String> {
    tree(out)
        .into_keys()
        .filter(|k| k.ends_with(".html"))
        .collect()
}

/// Every relative `href`/`src` the templates put on a page points at a file
/// of the site (the issue's own content is the author's, links and all).
fn assert_relative_links_resolve(out: &Path) {
    let mut checked = 0;
    for page in pages(out) {
        let mut html = std::fs::read_to_string(out.join(&page)).unwrap();
        if let (Some(a), Some(b)) = (html.find("<article"), html.find("</article>")) {
            html.replace_range(a..b, "");
        }
        let dir = Path::new(&page).parent().unwrap().to_path_buf();
        for link in attrs(&html, "href").into_iter().chain(attrs(&html, "src")) {
            if link.contains(':') || link.starts_with('#') || link.starts_with('/') {
                continue;
            }
            let link = link.split(['#', '?']).next().unwrap();
            let mut target = out.join(&dir).join(link);
            if link.is_empty() || link.ends_with('/') {
                target = target.join("index.html");
            }
            assert!(
                target.is_file(),
                "{page}: relative link {link:?} resolves to {}, which is not in the site",
                target.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} relative links checked");
}

/// Every alias of every published issue that this site can serve has a page
/// that sends the reader to the issue (meta refresh and canonical).
fn assert_alias_pages(config: &Config, out: &Path, issues: &[PathBuf]) -> usize {
    let site = Site::required(config).unwrap();
    let mut n = 0;
    for file in issues {
        let issue = letterpress::issue::Issue::from_file(file).unwrap();
        if issue.front.draft {
            continue;
        }
        let target = site.issue_url(&issue);
        for alias in &issue.front.aliases {
            let AliasPlace::Page(path) = site.alias_place(alias) else {
                continue;
            };
            let page = out.join(archive::site::file_of(&path));
            let html = std::fs::read_to_string(&page)
                .unwrap_or_else(|e| panic!("alias {alias} of {}: {e}", file.display()));
            assert!(
                html.contains(&format!("<link rel=\"canonical\" href=\"{target}\">")),
                "{}: {html}",
                page.display()
            );
            assert!(
                html.contains(&format!(
                    "<meta http-equiv=\"refresh\" content=\"0; url={target}\">"
                )),
                "{}: {html}",
                page.display()
            );
            n += 1;
        }
    }
    n
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"letterpress \d+\.\d+\.\d+", "letterpress [version]");
    s
}

#[test]
fn fixture_site_snapshots() {
    let f = Fixture::new();
    let report = f.build();
    assert_eq!((report.issues, report.drafts), (2, 1));
    assert!(
        !f.out().join("003-draft").exists(),
        "the draft is not published"
    );
    settings().bind(|| {
        insta::assert_snapshot!("archive_index", f.read("index.html"));
        insta::assert_snapshot!("archive_issue", f.read("002-tables-and-images/index.html"));
        insta::assert_snapshot!("archive_feed", f.read("feed.xml"));
        insta::assert_snapshot!("archive_sitemap", f.read("sitemap.xml"));
    });
}

#[test]
fn pages_have_canonical_open_graph_and_neighbours_and_no_unsubscribe() {
    let f = Fixture::new();
    f.build();
    let one = f.read("001-hello-archive/index.html");
    let two = f.read("002-tables-and-images/index.html");
    let url2 = "https://example.org/newsletter/002-tables-and-images/";
    assert!(two.contains(&format!("<link rel=\"canonical\" href=\"{url2}\">")));
    assert!(two.contains(&format!("<meta property=\"og:url\" content=\"{url2}\">")));
    assert!(two.contains(
        "<meta property=\"og:title\" content=\"#2: Tables &amp; images &lt;on the web&gt;\">"
    ));
    assert!(
        two.contains("<meta property=\"og:image\" content=\"https://img.example.org/loaf.jpg\">")
    );
    assert!(two.contains("<meta name=\"twitter:card\" content=\"summary_large_image\">"));
    assert!(one.contains("<meta name=\"twitter:card\" content=\"summary\">"));
    // Newest first: #2 links back to #1, #1 forward to #2.
    assert!(
        two.contains("rel=\"prev\" href=\"../001-hello-archive/\""),
        "{two}"
    );
    assert!(
        one.contains("rel=\"next\" href=\"../002-tables-and-images/\""),
        "{one}"
    );
    for page in [&one, &two] {
        assert!(!page.contains("LPSLOT"), "a slot sentinel is left");
        assert!(
            !page.contains(">Unsubscribe<"),
            "the web page has no unsubscribe link"
        );
        assert!(!page.contains("View in browser"));
        assert!(page.contains("href=\"https://example.org/subscribe?from=archive&amp;x=1\""));
        assert!(page.contains("Plain-text version"));
    }
    // The plain text is beside the email, slots filled for the web.
    assert!(two.contains("Subscribe: https://example.org/subscribe?from=archive&amp;x=1"));
    assert!(
        two.contains("<pre class=\"lp-text\">The Fixture Weekly · Issue #2 · 11 January 2026\n"),
        "{two}"
    );
    // Links are not UTM-tagged on the web.
    assert!(
        !two.contains("utm_medium"),
        "web links carry no email campaign tags"
    );
    let index = f.read("index.html");
    let p2 = index.find("002-tables-and-images/").unwrap();
    let p1 = index.find("001-hello-archive/").unwrap();
    assert!(p2 < p1, "newest first");
    assert!(index.contains("<h2>2026</h2>") && index.contains("<h2>2025</h2>"));
}

#[test]
fn relative_links_resolve_from_a_sub_path_and_aliases_have_pages() {
    let f = Fixture::new();
    let report = f.build();
    assert_relative_links_resolve(&f.out());
    let issues = common::markdown_files(&f.path().join("issues"));
    let n = assert_alias_pages(&f.config(), &f.out(), &issues);
    assert_eq!(n, 3, "/old/1/, issues/1.html and /old/2/");
    assert!(f.out().join("issues/1.html").is_file());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("https://elsewhere.example/fixture/1")),
        "{:?}",
        report.warnings
    );
    // Canonical URLs carry the sub-path.
    assert!(f
        .read("sitemap.xml")
        .contains("<loc>https://example.org/newsletter/001-hello-archive/</loc>"));
}

#[test]
fn every_link_of_an_issue_is_on_its_page() {
    let f = Fixture::new();
    f.build();
    for (file, page) in [
        ("001-hello-archive.md", "001-hello-archive/index.html"),
        (
            "002-tables-and-images.md",
            "002-tables-and-images/index.html",
        ),
    ] {
        let issue =
            letterpress::issue::Issue::from_file(&f.path().join("issues").join(file)).unwrap();
        assert_links_on_page(&issue.body, &f.read(page), file);
    }
}

/// Every link and image of the Markdown `body` is an `href`/`src` of `html`.
fn assert_links_on_page(body: &str, html: &str, what: &str) -> usize {
    use pulldown_cmark::{Event, Parser, Tag};
    let on_page: std::collections::HashSet<String> = attrs(html, "href")
        .into_iter()
        .chain(attrs(html, "src"))
        .collect();
    let mut n = 0;
    for event in Parser::new_ext(body, letterpress::compose::markdown_options()) {
        let url = match event {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => dest_url.to_string(),
            _ => continue,
        };
        if !(url.starts_with("http://")
            || url.starts_with("https://")
            || url.starts_with("mailto:"))
        {
            continue;
        }
        let url = url.trim().to_string();
        let found = on_page.contains(&url)
            || on_page.contains(&url.replace(' ', "%20"))
            || on_page.iter().any(|h| {
                url::Url::parse(h).ok() == url::Url::parse(&url).ok() && url::Url::parse(h).is_ok()
            });
        assert!(found, "{what}: link {url} is not on its page");
        n += 1;
    }
    n
}

#[test]
fn no_change_rewrites_nothing_and_a_template_change_rebuilds_everything() {
    let f = Fixture::new();
    let first = f.build();
    assert_eq!(first.composed, 2);
    let before = stamps(&f.out());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = f.build();
    assert_eq!(again.composed, 0, "everything came from the cache");
    assert!(
        again.written.is_empty() && again.removed.is_empty(),
        "{again:?}"
    );
    assert_eq!(stamps(&f.out()), before, "not one file was touched");

    // A page edited by hand is noticed (the folder is not as the last build
    // left it) and put back.
    std::fs::write(f.out().join("index.html"), "edited").unwrap();
    let restored = f.build();
    assert_eq!(restored.written, ["index.html"]);
    assert_eq!(restored.composed, 0);
    assert!(f.read("index.html").contains("All issues"));
    let before = stamps(&f.out());

    // One issue changes: only its page, the index and the feeds change; the
    // rest keep their inode and time.
    let one = f.path().join("issues/001-hello-archive.md");
    let text = std::fs::read_to_string(&one).unwrap();
    std::fs::write(&one, text.replace("- two", "- two\n- three")).unwrap();
    let changed = f.build();
    assert_eq!(changed.composed, 1);
    assert!(changed
        .written
        .contains(&"001-hello-archive/index.html".to_string()));
    assert!(!changed
        .written
        .contains(&"002-tables-and-images/index.html".to_string()));
    let after = stamps(&f.out());
    assert_eq!(
        after["002-tables-and-images/index.html"], before["002-tables-and-images/index.html"],
        "an unchanged page keeps its inode and time"
    );

    // A template change composes every issue again.
    let layout = f.path().join("templates/email.mjml");
    let t = std::fs::read_to_string(&layout).unwrap();
    std::fs::write(
        &layout,
        t.replace(
            "to get the next issue by email",
            "for the next one (TEMPLATE-V2)",
        ),
    )
    .unwrap();
    let rebuilt = f.build();
    assert_eq!(
        rebuilt.composed, 2,
        "a changed template rebuilds everything"
    );
    assert!(f
        .read("001-hello-archive/index.html")
        .contains("TEMPLATE-V2"));
    assert!(f
        .read("002-tables-and-images/index.html")
        .contains("TEMPLATE-V2"));
    assert!(f.read("feed.xml").contains("TEMPLATE-V2"));
    let leftovers: Vec<_> = std::fs::read_dir(f.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("building"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_broken_issue_names_file_and_line_and_leaves_the_site_untouched() {
    let f = Fixture::new();
    f.build();
    let before = tree(&f.out());
    let stamps_before = stamps(&f.out());
    std::fs::write(
        f.path().join("issues/004-broken.md"),
        "---\ntitle: Broken\ndate: someday\n---\nbody\n",
    )
    .unwrap();
    let out = common::bin()
        .arg("--config")
        .arg(f.path().join("letterpress.toml"))
        .arg("archive")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("004-broken.md:2"), "{stderr}");
    assert!(stderr.contains("YYYY-MM-DD"), "{stderr}");
    assert_eq!(tree(&f.out()), before, "the archive is not half-written");
    assert_eq!(stamps(&f.out()), stamps_before);

    // A folder that is not an archive is never replaced.
    let elsewhere = f.path().join("notes");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("keep.txt"), "mine").unwrap();
    std::fs::remove_file(f.path().join("issues/004-broken.md")).unwrap();
    let out = common::bin()
        .arg("--config")
        .arg(f.path().join("letterpress.toml"))
        .args(["archive", "--out"])
        .arg(&elsewhere)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a letterpress archive"));
    assert!(elsewhere.join("keep.txt").is_file());
}

#[test]
fn cli_builds_into_the_configured_folder_and_says_what_changed() {
    let f = Fixture::new();
    let run = || {
        common::bin()
            .arg("--config")
            .arg(f.path().join("letterpress.toml"))
            .arg("archive")
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        f.path().join("public/index.html").is_file(),
        "default folder is public/"
    );
    let again = String::from_utf8_lossy(&run().stdout).into_owned();
    assert!(again.contains("nothing changed"), "{again}");
    // Without a base URL the archive says which setting to add.
    let toml = f.path().join("letterpress.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("base_url = ", "# base_url = ")).unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("base_url"));
}

#[test]
fn emails_point_at_the_archive() {
    let f = Fixture::new();
    let config = f.config();
    let composer = letterpress::compose::Composer::new(&config).unwrap();
    let composed = letterpress::pipeline::compose_file(
        &composer,
        &f.path().join("issues/001-hello-archive.md"),
    )
    .unwrap();
    let url = "https://example.org/newsletter/001-hello-archive/";
    assert!(
        composed.email.html.contains(&format!("href=\"{url}\"")),
        "View in browser"
    );
    assert!(composed
        .email
        .text
        .contains(&format!("View in your browser: {url}")));
    assert!(
        composed.email.html.contains(">Unsubscribe<"),
        "the email keeps its unsubscribe link"
    );
    let eml = String::from_utf8_lossy(&composed.sample.bytes);
    assert!(
        eml.contains("List-Archive: <https://example.org/newsletter/>"),
        "{}",
        &eml[..eml.find("\r\n\r\n").unwrap()]
    );
}

#[test]
fn the_feed_parses_with_feedparser() {
    if !common::has_python_module("feedparser") {
        common::skip("python3 -m pip install feedparser");
        return;
    }
    let f = Fixture::new();
    f.build();
    let parsed = feedparser(&f.out().join("feed.xml"));
    assert_eq!(parsed["entries"], 2, "{parsed}");
    assert_eq!(
        parsed["first_link"],
        "https://example.org/newsletter/002-tables-and-images/"
    );
    assert!(parsed["first_content"].as_str().unwrap().contains("1000 g"));
}

/// Parses `feed` with Python's feedparser; fails on anything it calls malformed.
fn feedparser(feed: &Path) -> serde_json::Value {
    let script = r#"
import json, sys, feedparser
d = feedparser.parse(sys.argv[1])
if d.bozo:
    sys.exit("feedparser: malformed feed: %r" % (d.bozo_exception,))
if d.version != "atom10":
    sys.exit("feedparser: not Atom 1.0 but %r" % d.version)
e = d.entries
for x in e:
    assert x.title and x.link and x.id and x.updated_parsed, x
    assert x.content and x.content[0].value, x.title
print(json.dumps({"entries": len(e), "title": d.feed.title,
                  "first_link": e[0].link if e else None,
                  "first_content": e[0].content[0].value if e else None}))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(feed)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn browser_dir() -> PathBuf {
    common::root().join("tests/browser")
}

/// html-validate over `files` with tests/browser/htmlvalidate-archive.json:
/// the HTML standard's rules, but the presentational table attributes
/// (`align`, `cellpadding`, `width`) that email layouts need are allowed, as
/// an issue page shows the email as it was sent.
fn html_validate(files: &[PathBuf]) -> Option<()> {
    let bin = browser_dir().join("node_modules/.bin/html-validate");
    if !bin.is_file() || !common::has_program("node", &["--version"]) {
        common::skip("html-validate is not installed (npm ci --prefix tests/browser)");
        return None;
    }
    let out = Command::new(bin)
        .arg("--config")
        .arg(browser_dir().join("htmlvalidate-archive.json"))
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "html-validate found errors:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

/// Opens `pages` of the site at 375 px in headless Chromium (archive.mjs).
fn chromium_at_375(site: &Path, pages: &[String], docs_shot: Option<&Path>) -> Option<()> {
    let pw = browser_dir().join("node_modules/playwright-core/package.json");
    if !pw.is_file() || !Path::new("/usr/bin/chromium").exists() {
        common::skip("chromium or playwright-core missing (apt-get install chromium; npm ci --prefix tests/browser)");
        return None;
    }
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("archive.mjs"))
        .current_dir(browser_dir())
        .env("LP_SITE", site)
        .env("LP_PAGES", pages.join("\n"))
        .env("LP_SHOTS", common::root().join("target/screenshots"));
    if let Some(p) = docs_shot {
        cmd.env("LP_DOCS_SHOT", p);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "archive.mjs failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("RESULT {{\"pages\":{}}}", pages.len())),
        "{stdout}"
    );
    Some(())
}

#[test]
fn fixture_pages_validate_and_fit_a_phone() {
    let f = Fixture::new();
    f.build();
    let files: Vec<PathBuf> = pages(&f.out()).iter().map(|p| f.out().join(p)).collect();
    html_validate(&files);
    // Alias pages leave at once (meta refresh), so they are not looked at.
    let mut shown = vec!["002-tables-and-images/index.html".to_string()];
    shown.extend(
        pages(&f.out())
            .into_iter()
            .filter(|p| !p.starts_with("002") && !f.read(p).contains("http-equiv=\"refresh\"")),
    );
    assert_eq!(shown.len(), 3);
    let docs = std::env::var_os("LETTERPRESS_DOCS_SHOT").map(PathBuf::from);
    chromium_at_375(&f.out(), &shown, docs.as_deref());
}

/// The whole `../shared/corpus` (four newsletters, one site): every issue
/// builds, every link is on its page, the feed parses, the pages validate
/// and fit a phone.
#[test]
fn the_corpus_builds_into_one_site() {
    let Some(shared) = common::shared() else {
        eprintln!("SKIPPED (no ../shared beside the checkout): the corpus archive");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let issues = dir.path().join("issues");
    std::fs::create_dir(&issues).unwrap();
    let mut copied = Vec::new();
    for letter in std::fs::read_dir(shared.join("corpus")).unwrap().flatten() {
        for file in std::fs::read_dir(letter.path()).unwrap().flatten() {
            // `2018-06-08-newsletter--bitcoin-optech.md`: unique, and still date-led.
            let path = file.path();
            let name = format!(
                "{}--{}.{}",
                path.file_stem().unwrap().to_string_lossy(),
                letter.file_name().to_string_lossy(),
                path.extension().unwrap().to_string_lossy()
            );
            std::fs::copy(file.path(), issues.join(&name)).unwrap();
            copied.push(issues.join(name));
        }
    }
    copied.sort();
    assert!(copied.len() >= 77, "{} corpus files", copied.len());
    let config_text = format!(
        "[newsletter]\nname = \"Corpus\"\nfrom = \"Corpus <c@example.org>\"\nweb_url = \"https://example.org/\"\npostal_address = \"1 Road\"\n\
[paths]\nissues = \"issues\"\ntemplates = \"{}\"\n[archive]\nbase_url = \"https://example.org/corpus/\"\ncache = \"cache.json\"\n",
        common::root().join("templates").display()
    );
    std::fs::write(dir.path().join("letterpress.toml"), config_text).unwrap();
    let config = Config::from_file(&dir.path().join("letterpress.toml")).unwrap();
    let out = dir.path().join("site");
    let report = archive::build(&config, &out).unwrap();
    assert_eq!(report.issues + report.drafts, copied.len());
    assert_eq!(report.composed, report.issues);

    let mut links = 0;
    for file in &copied {
        let issue = letterpress::issue::Issue::from_file(file).unwrap();
        if issue.front.draft {
            continue;
        }
        let page = out.join(archive::site::file_of(&archive::site::issue_path(&issue)));
        let html =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        links += assert_links_on_page(&issue.body, &html, &file.display().to_string());
    }
    assert!(links > 1000, "only {links} links checked");
    assert_relative_links_resolve(&out);
    assert_alias_pages(&config, &out, &copied);

    let again = archive::build(&config, &out).unwrap();
    assert_eq!(again.composed, 0);
    assert!(again.written.is_empty());

    if common::has_python_module("feedparser") {
        let parsed = feedparser(&out.join("feed.xml"));
        assert_eq!(parsed["entries"], 20, "the feed holds the newest 20 issues");
    } else {
        common::skip("python3 -m pip install feedparser");
    }
    let all = pages(&out);
    html_validate(&all.iter().map(|p| out.join(p)).collect::<Vec<_>>());
    chromium_at_375(&out, &all, None);
}

#[test]
fn serve_shows_the_archive_page_of_the_issue() {
    let site = serve_support::site(false);
    let server = serve_support::start(&site.config, site.issue.to_str().unwrap(), &[], &[]);
    let page = serve_support::get(server.addr, "/");
    assert!(
        page.text().contains("href=\"/archive/issue/\""),
        "the preview links to the web page"
    );
    let web = serve_support::get(server.addr, "/archive/issue/");
    assert_eq!(web.status, 200);
    let html = web.text();
    let issue = letterpress::issue::Issue::from_file(&site.issue).unwrap();
    let title = html_escape::encode_quoted_attribute(&issue.front.title).to_string();
    assert!(html.contains(&title), "the page shows the issue");
    assert!(html.contains("Plain-text version"));
    assert!(html.contains("href=\"../style.css\""));
    assert!(!html.contains("LPSLOT"));
    let css = serve_support::get(server.addr, "/archive/style.css");
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(
        css.body,
        std::fs::read(common::root().join("templates/archive/static/style.css")).unwrap()
    );
    assert_eq!(
        serve_support::get(server.addr, "/archive/letterpress.toml").status,
        404
    );
    assert_eq!(
        serve_support::get(server.addr, "/archive/..%2Fletterpress.toml").status,
        404
    );
}

#[test]
fn feed_entries_limits_the_feed() {
    let f = Fixture::new();
    let toml = f.path().join("letterpress.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace("[archive]\n", "[archive]\nfeed_entries = 1\n"),
    )
    .unwrap();
    f.build();
    let feed = f.read("feed.xml");
    assert_eq!(feed.matches("<entry>").count(), 1);
    assert!(feed.contains("002-tables-and-images"), "the newest issue");
    assert!(
        f.read("index.html").contains("001-hello-archive/"),
        "the index keeps every issue"
    );
}
