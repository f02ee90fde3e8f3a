//! `letterpress new`: the next issue file, from `templates/new-issue.md`.
//!
//! The logic is pure and unit-tested: [`next_number`] (one more than the
//! highest number in file names or front matter), [`next_date`] (the latest
//! issue's date plus the cadence, or today), [`slug`] and [`file_name`].
//! [`create`] does the I/O: it scans the issues directory, renders the
//! template and writes the file, refusing to overwrite anything.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use minijinja::context;

use crate::compose::template::{Templates, NEW_ISSUE};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fs::read_text;
use crate::issue::Issue;

/// What `new` needs to know about one existing issue file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Existing {
    /// The file.
    pub path: PathBuf,
    /// The leading digits of its file name (`12` for `012-rye.md`).
    pub file_number: Option<u32>,
    /// How many leading digits its file name has (`3` for `012-rye.md`).
    pub file_digits: usize,
    /// `number` from its front matter, when it parses.
    pub front_number: Option<u32>,
    /// `date` from its front matter, when it parses.
    pub date: Option<NaiveDate>,
}

impl Existing {
    /// Reads what `new` needs from `path`; an unparsable file still counts by its name.
    pub fn read(path: &Path) -> Existing {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let digits: String = stem.chars().take_while(char::is_ascii_digit).collect();
        let parsed = read_text(path).ok().and_then(|t| Issue::parse(&t).ok());
        Existing {
            path: path.to_path_buf(),
            file_number: digits.parse().ok(),
            file_digits: digits.len(),
            front_number: parsed.as_ref().and_then(|i| i.front.number),
            date: parsed.as_ref().and_then(|i| i.front.date),
        }
    }
}

/// Every `.md` file in `dir` (none when `dir` does not exist yet), sorted by path.
pub fn scan(dir: &Path) -> Result<Vec<Existing>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "md"))
        .collect();
    paths.sort();
    Ok(paths.iter().map(|p| Existing::read(p)).collect())
}

/// One more than the highest issue number found in file names or front
/// matter; 1 when there is none.
pub fn next_number(existing: &[Existing]) -> u32 {
    existing
        .iter()
        .flat_map(|e| [e.file_number, e.front_number])
        .flatten()
        .max()
        .map_or(1, |n| n.saturating_add(1))
}

/// The latest issue date plus `cadence_days`; `today` when no issue has a date.
pub fn next_date(existing: &[Existing], cadence_days: u32, today: NaiveDate) -> NaiveDate {
    existing
        .iter()
        .filter_map(|e| e.date)
        .max()
        .and_then(|d| d.checked_add_days(Days::new(cadence_days.into())))
        .unwrap_or(today)
}

/// How many digits the number in the new file name gets: as many as the
/// existing files use (the widest), at least 3.
pub fn number_width(existing: &[Existing]) -> usize {
    existing
        .iter()
        .filter(|e| e.file_number.is_some())
        .map(|e| e.file_digits)
        .max()
        .unwrap_or(3)
        .max(3)
}

/// Longest slug kept in a file name, in characters.
pub const SLUG_MAX: usize = 60;

/// `Pinterest's ML, GANs & Bayes!` → `pinterests-ml-gans-bayes`: lower-case
/// letters and digits, runs of anything else become one `-`, apostrophes
/// vanish, cut at a word boundary to at most [`SLUG_MAX`] characters.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    let mut pending_dash = false;
    for c in title.chars() {
        if matches!(c, '\'' | '’' | '`') {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.extend(c.to_lowercase());
        } else {
            pending_dash = true;
        }
    }
    if out.chars().count() > SLUG_MAX {
        let cut: String = out.chars().take(SLUG_MAX + 1).collect();
        out = match cut.rfind('-') {
            Some(i) if i > 0 => cut[..i].to_string(),
            _ => cut.chars().take(SLUG_MAX).collect(),
        };
    }
    out
}

/// `013-slug-of-title.md`, or `013.md` when there is no title (or it has no letters).
pub fn file_name(number: u32, title: Option<&str>, width: usize) -> String {
    let s = title.map(slug).unwrap_or_default();
    if s.is_empty() {
        format!("{number:0width$}.md")
    } else {
        format!("{number:0width$}-{s}.md")
    }
}

/// Escapes `s` for the inside of a double-quoted YAML string, which is where
/// `templates/new-issue.md` puts the title: `title: "#{{ number }}: {{ title }}"`.
pub fn yaml_double_quoted_inner(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The title used when `--title` is not given.
pub const UNTITLED: &str = "Untitled";

/// Everything decided about the new issue before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Its number.
    pub number: u32,
    /// Its date.
    pub date: NaiveDate,
    /// Its title as given (or [`UNTITLED`]).
    pub title: String,
    /// Where it goes.
    pub path: PathBuf,
}

/// Decides number, date and file name for the issue after `existing`.
pub fn plan(
    existing: &[Existing],
    issues_dir: &Path,
    title: Option<&str>,
    cadence_days: u32,
    today: NaiveDate,
) -> Plan {
    let title = title.map(str::trim).filter(|t| !t.is_empty());
    let number = next_number(existing);
    Plan {
        number,
        date: next_date(existing, cadence_days, today),
        title: title.unwrap_or(UNTITLED).to_string(),
        path: issues_dir.join(file_name(number, title, number_width(existing))),
    }
}

/// Renders `templates/new-issue.md` for `plan` and checks that the result
/// parses as an issue, so `new` never writes a file `preview` would reject.
/// The template sees `number`, `date` (YYYY-MM-DD), `title` (escaped for a
/// double-quoted YAML string), `title_plain` (unescaped) and `newsletter.name`.
pub fn render(templates: &Templates, plan: &Plan, newsletter_name: &str) -> Result<String> {
    let ctx = context! {
        number => plan.number,
        date => plan.date.to_string(),
        title => yaml_double_quoted_inner(&plan.title),
        title_plain => &plan.title,
        newsletter => context! { name => newsletter_name },
    };
    let text = templates.render(NEW_ISSUE, &ctx)?;
    let template_path = templates.dir().join(NEW_ISSUE);
    Issue::parse(&text).map_err(|e| {
        Error::parse(
            &template_path,
            None,
            format!(
                "the issue it produces for title {:?} does not parse (line {} of the result: {}); fix the template's front matter",
                plan.title, e.line, e.message
            ),
        )
    })?;
    Ok(text)
}

/// Writes `contents` to `path`, creating the directory, never replacing a file.
pub fn write_new(path: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Usage(format!(
                    "{} already exists; not overwriting it (move it away or pass another --title)",
                    path.display()
                ))
            } else {
                Error::io("create", path, e)
            }
        })?;
    file.write_all(contents.as_bytes())
        .map_err(|e| Error::io("write", path, e))
}

/// Plans, renders and writes the next issue; returns its plan.
pub fn create(config: &Config, title: Option<&str>, today: NaiveDate) -> Result<Plan> {
    let issues_dir = config.resolve(&config.paths.issues);
    let existing = scan(&issues_dir)?;
    let plan = plan(
        &existing,
        &issues_dir,
        title,
        config.schedule.cadence_days,
        today,
    );
    let templates = Templates::from_dir(&config.resolve(&config.paths.templates))?;
    let text = render(&templates, &plan, &config.newsletter.name)?;
    write_new(&plan.path, &text)?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ex(file_number: Option<u32>, front_number: Option<u32>, date: Option<&str>) -> Existing {
        Existing {
            file_number,
            file_digits: file_number.map_or(0, |_| 3),
            front_number,
            date: date.map(d),
            ..Existing::default()
        }
    }

    #[test]
    fn next_number_takes_the_highest_of_names_and_front_matter() {
        assert_eq!(next_number(&[]), 1);
        assert_eq!(next_number(&[ex(Some(12), Some(12), None)]), 13);
        // A file named by date carries its number in front matter only.
        assert_eq!(
            next_number(&[ex(Some(3), Some(40), None), ex(Some(7), None, None)]),
            41
        );
        assert_eq!(next_number(&[ex(Some(41), Some(40), None)]), 42);
        assert_eq!(next_number(&[ex(None, None, Some("2020-01-01"))]), 1);
    }

    #[test]
    fn next_date_is_latest_plus_cadence_or_today() {
        let today = d("2030-01-01");
        assert_eq!(next_date(&[], 14, today), today);
        assert_eq!(next_date(&[ex(Some(1), None, None)], 14, today), today);
        let issues = [
            ex(Some(11), None, Some("2026-11-08")),
            ex(Some(12), None, Some("2026-11-22")),
            ex(Some(10), None, Some("2026-10-25")),
        ];
        assert_eq!(next_date(&issues, 14, today), d("2026-12-06"));
        assert_eq!(next_date(&issues, 7, today), d("2026-11-29"));
        assert_eq!(
            next_date(&[ex(None, None, Some("2024-02-22"))], 14, today),
            d("2024-03-07")
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Pinterest's ML, GANs & Bayes!"),
            "pinterests-ml-gans-bayes"
        );
        assert_eq!(slug("  The 1:5:5 feed — rye  "), "the-1-5-5-feed-rye");
        assert_eq!(slug("Crème brûlée"), "crème-brûlée");
        assert_eq!(slug("!!!"), "");
        let long = "word ".repeat(30);
        let s = slug(&long);
        assert!(s.chars().count() <= SLUG_MAX, "{s}");
        assert!(s.ends_with("word") && !s.ends_with('-'), "{s}");
        assert_eq!(slug(&"x".repeat(100)).len(), SLUG_MAX);
    }

    #[test]
    fn file_names() {
        assert_eq!(
            file_name(13, Some("Slug of title"), 3),
            "013-slug-of-title.md"
        );
        assert_eq!(file_name(13, None, 3), "013.md");
        assert_eq!(file_name(13, Some("?!"), 3), "013.md");
        assert_eq!(file_name(1000, Some("a"), 3), "1000-a.md");
        assert_eq!(file_name(7, Some("a"), 4), "0007-a.md");
    }

    #[test]
    fn width_follows_existing_files() {
        assert_eq!(number_width(&[]), 3);
        let mut e = ex(Some(12), None, None);
        e.file_digits = 4;
        assert_eq!(number_width(&[e, ex(None, Some(3), None)]), 4);
    }

    #[test]
    fn plan_puts_it_together() {
        let p = plan(
            &[ex(Some(12), Some(12), Some("2026-11-22"))],
            Path::new("issues"),
            Some("  Rye, again  "),
            14,
            d("2030-01-01"),
        );
        assert_eq!(p.number, 13);
        assert_eq!(p.date, d("2026-12-06"));
        assert_eq!(p.title, "Rye, again");
        assert_eq!(p.path, Path::new("issues/013-rye-again.md"));
        let p = plan(&[], Path::new("i"), Some(" "), 14, d("2030-01-01"));
        assert_eq!((p.number, p.title.as_str()), (1, UNTITLED));
        assert_eq!(p.path, Path::new("i/001.md"));
    }

    const SKELETON: &str =
        "---\ntitle: \"#{{ number }}: {{ title }}\"\ndate: {{ date }}\nnumber: {{ number }}\ndraft: true\n---\n\nHello, issue #{{ number }}!\n";

    #[test]
    fn render_fills_front_matter_and_survives_quotes() {
        let t = Templates::from_sources(&[(NEW_ISSUE, SKELETON)]).unwrap();
        let p = Plan {
            number: 13,
            date: d("2026-12-06"),
            title: r#"The "best" rye \ ever: part 2"#.into(),
            path: PathBuf::from("issues/013.md"),
        };
        let text = render(&t, &p, "Ledger").unwrap();
        let issue = Issue::parse(&text).unwrap();
        assert_eq!(issue.front.title, r#"#13: The "best" rye \ ever: part 2"#);
        assert_eq!(issue.front.number, Some(13));
        assert_eq!(issue.front.date, Some(d("2026-12-06")));
        assert!(issue.front.draft);
        assert!(issue.body.contains("issue #13!"));
    }

    #[test]
    fn render_rejects_a_template_that_yields_a_broken_issue() {
        let t = Templates::from_sources(&[(NEW_ISSUE, "---\ntitle: {{ title }}\n")]).unwrap();
        let p = plan(&[], Path::new("i"), Some("x"), 14, d("2030-01-01"));
        let e = render(&t, &p, "L").unwrap_err().to_string();
        assert!(
            e.contains("new-issue.md") && e.contains("does not parse"),
            "{e}"
        );
    }

    #[test]
    fn write_new_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sub/013-x.md");
        write_new(&f, "first").unwrap();
        let e = write_new(&f, "second").unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "first");
    }

    #[test]
    fn scan_reads_names_and_front_matter() {
        let dir = tempfile::tempdir().unwrap();
        assert!(scan(&dir.path().join("missing")).unwrap().is_empty());
        std::fs::write(
            dir.path().join("012-rye.md"),
            "---\ntitle: t\nnumber: 12\ndate: 2026-11-22\n---\nx",
        )
        .unwrap();
        std::fs::write(dir.path().join("0040-broken.md"), "---\ntitle: [\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "99").unwrap();
        let e = scan(dir.path()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].file_number, e[0].file_digits, e[0].front_number),
            (Some(40), 4, None)
        );
        assert_eq!(e[1].date, Some(d("2026-11-22")));
        assert_eq!(next_number(&e), 41);
        assert_eq!(number_width(&e), 4);
    }
}
