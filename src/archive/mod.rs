//! `letterpress archive`: the issues as a static web site with an Atom feed.
//!
//! ```text
//!  collection::Collection ─▶ pipeline::parse_issue ─▶ Composer::compose (Output::Web)  (in parallel, cached by input hash)
//!        │                                               └▶ web::WebBody (slots filled for the web)
//!        ▼
//!  templates/archive/{index.html, issue.html, feed.xml, sitemap.xml, alias.html} + static/
//!        ▼
//!  output::publish: compare with what is there; unchanged → nothing written;
//!                   changed → built in a temporary folder and swapped in whole
//! ```
//!
//! The page of an issue is the email itself, from the same compose path as
//! `preview` (the layout sees `web = true`, so it shows a subscribe link where
//! the unsubscribe link was). Every link between pages is relative, so the
//! site works from any sub-path; canonical URLs, the feed and the sitemap use
//! `[archive] base_url`.

pub mod output;
pub mod site;
pub mod web;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use minijinja::{context, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::collection::Collection;
use crate::compose::{Composer, Output};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::issue::Issue;
use crate::template::Templates;
pub use site::{list_archive, subscribe_url, web_url, AliasPlace, Site};
use web::WebBody;

/// The index page template.
pub const INDEX: &str = "archive/index.html";
/// The page of one issue.
pub const ISSUE: &str = "archive/issue.html";
/// The Atom feed.
pub const FEED: &str = "archive/feed.xml";
/// The sitemap.
pub const SITEMAP: &str = "archive/sitemap.xml";
/// A page at an alias that sends the reader on to the issue.
pub const ALIAS: &str = "archive/alias.html";
/// Files copied as they are to the site root (style sheet, icons).
pub const STATIC_DIR: &str = "archive/static";
/// Issues in the feed unless `[archive] feed_entries` says otherwise.
pub const FEED_ENTRIES: usize = 20;

/// What a build did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The folder the site is in.
    pub out: PathBuf,
    /// Issues published (drafts are left out).
    pub issues: usize,
    /// Drafts left out.
    pub drafts: usize,
    /// Issues composed this run (the others came from the cache).
    pub composed: usize,
    /// Files written because they are new or changed, site-relative.
    pub written: Vec<String>,
    /// Files removed because nothing produces them any more.
    pub removed: Vec<String>,
    /// Files left exactly as they were.
    pub unchanged: usize,
    /// Things the author may want to fix (aliases on other hosts, undated issues).
    pub warnings: Vec<String>,
}

/// One published issue: where it is and what it shows.
#[derive(Debug, Clone)]
struct Entry {
    issue: Issue,
    date: Option<chrono::NaiveDate>,
    slug: String,
    web: WebBody,
}

/// What templates see of an issue.
#[derive(Debug, Clone, Serialize)]
struct IssueView<'a> {
    title: &'a str,
    subject: &'a str,
    number: Option<u32>,
    date: Option<String>,
    date_long: Option<String>,
    /// `Some("2026")`, for grouping.
    year: Option<String>,
    preheader: &'a str,
    slug: &'a str,
    /// The page, relative to the site root (`012-rye/`).
    path: String,
    /// The absolute (canonical) URL.
    url: String,
    image: Option<&'a str>,
    extra: Value,
}

/// The cache of composed issues, keyed by a hash of everything composing reads.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    entries: HashMap<String, Cached>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    web: WebBody,
    preheader: String,
}

/// Builds the archive of `config`'s issues into `out`.
pub fn build(config: &Config, out: &Path) -> Result<Report> {
    let site = Site::required(config)?;
    let composer = Composer::new(config)?.with_output(Output::Web);
    let issues_dir = config.resolve(&config.paths.issues);
    if !issues_dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: no issues folder; set `paths.issues` in letterpress.toml or create it with `letterpress new`",
            issues_dir.display()
        )));
    }
    let collection = Collection::scan(&issues_dir)?;
    let fingerprint = fingerprint(config, composer.templates().dir())?;
    let cache_path = config.resolve(
        config
            .archive
            .cache
            .as_deref()
            .unwrap_or(Path::new(".letterpress/archive-cache.json")),
    );
    let manifest_path = cache_path.with_extension("site.json");

    // Every input, hashed: when it is what the last build read and the
    // output folder is as that build left it, there is nothing to do.
    let files = collection.files();
    let sources = files
        .iter()
        .map(|f| crate::error::read_text(&f.path))
        .collect::<Result<Vec<String>>>()?;
    let keys: Vec<String> = files
        .iter()
        .zip(&sources)
        .map(|(file, source)| {
            let mut h = Sha256::new();
            h.update(fingerprint.as_bytes());
            h.update(file.path.to_string_lossy().as_bytes());
            h.update([0]);
            h.update(source.as_bytes());
            hex(&h.finalize())
        })
        .collect();
    let inputs = hex(&Sha256::digest(keys.join("\n").as_bytes()));
    let last: Option<Manifest> = std::fs::read(&manifest_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(m) = &last {
        if m.inputs == inputs && m.out == out && m.files == stamps(out) {
            return Ok(Report {
                out: out.to_path_buf(),
                issues: m.issues,
                drafts: m.drafts,
                composed: 0,
                written: Vec::new(),
                removed: Vec::new(),
                unchanged: m.files.len(),
                warnings: m.warnings.clone(),
            });
        }
    }

    let cache: Cache = std::fs::read(&cache_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    // Parse and (on a cache miss) compose every issue, in parallel.
    let results = crate::parallel::map(files.len(), |i| {
        let file = &files[i];
        let read = crate::pipeline::parse_issue(&file.path, sources[i].clone())?;
        if read.issue.front.draft {
            return Ok(None);
        }
        let key = keys[i].clone();
        let cached = cache.entries.get(&key).cloned();
        let fresh = cached.is_none();
        let cached = match cached {
            Some(c) => c,
            None => {
                let email = composer.compose(&read.issue)?;
                Cached {
                    web: web::web_body(&email, &subscribe_url(config)),
                    preheader: email.preheader,
                }
            }
        };
        Ok(Some((key, fresh, cached, read.issue, file.file_date)))
    });
    let mut entries = Vec::new();
    let mut new_cache = Cache::default();
    let (mut drafts, mut composed) = (0, 0);
    for r in results {
        match r? {
            None => drafts += 1,
            Some((key, fresh, cached, mut issue, file_date)) => {
                composed += usize::from(fresh);
                issue.front.preheader = Some(cached.preheader.clone());
                entries.push(Entry {
                    date: issue.front.date.or(file_date),
                    slug: site::slug(&issue),
                    web: cached.web.clone(),
                    issue,
                });
                new_cache.entries.insert(key, cached);
            }
        }
    }
    // Newest first: by date, then number, then file name.
    entries.sort_by(|a, b| {
        (b.date, b.issue.front.number, &b.issue.path).cmp(&(
            a.date,
            a.issue.front.number,
            &a.issue.path,
        ))
    });

    let mut warnings = Vec::new();
    let files = render_site(config, &site, composer.templates(), &entries, &mut warnings)?;
    let published = output::publish(out, &files)?;
    if composed > 0 || new_cache.entries.len() != cache.entries.len() {
        let json = serde_json::to_vec(&new_cache)
            .map_err(|e| Error::Usage(format!("cannot encode the archive cache: {e}")))?;
        if let Some(dir) = cache_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        }
        crate::error::replace_file(&cache_path, json)?;
    }
    let manifest = Manifest {
        inputs,
        out: out.to_path_buf(),
        issues: entries.len(),
        drafts,
        warnings: warnings.clone(),
        files: stamps(out),
    };
    if last.as_ref() != Some(&manifest) {
        let json = serde_json::to_vec(&manifest)
            .map_err(|e| Error::Usage(format!("cannot encode the archive manifest: {e}")))?;
        crate::error::replace_file(&manifest_path, json)?;
    }
    Ok(Report {
        out: out.to_path_buf(),
        issues: entries.len(),
        drafts,
        composed,
        written: published.written,
        removed: published.removed,
        unchanged: published.unchanged,
        warnings,
    })
}

/// What the last build read and wrote: the hash of its inputs and the
/// size, time and inode of every file it left in the output folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    inputs: String,
    out: PathBuf,
    issues: usize,
    drafts: usize,
    warnings: Vec<String>,
    files: BTreeMap<String, (u64, u128, u64)>,
}

/// `(size, mtime in ns, inode)` of every file under `out` (empty when absent).
fn stamps(out: &Path) -> BTreeMap<String, (u64, u128, u64)> {
    let Ok(files) = output::list(out) else {
        return BTreeMap::new();
    };
    files
        .into_iter()
        .filter_map(|rel| {
            let meta = std::fs::metadata(out.join(&rel)).ok()?;
            let mtime = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_nanos();
            #[cfg(unix)]
            let ino = std::os::unix::fs::MetadataExt::ino(&meta);
            #[cfg(not(unix))]
            let ino = 0;
            Some((rel, (meta.len(), mtime, ino)))
        })
        .collect()
}

/// A hash of everything composing reads besides the issue: this build of
/// letterpress, the configuration and every template file. A changed
/// template changes it, so every issue is composed again.
fn fingerprint(config: &Config, templates: &Path) -> Result<String> {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    // The binary itself (size and time), so a rebuilt letterpress composes afresh.
    if let Some(meta) = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
    {
        h.update(meta.len().to_le_bytes());
        h.update(format!("{:?}", meta.modified().ok()).as_bytes());
    }
    h.update(format!("{config:?}").as_bytes());
    let mut stack = vec![templates.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io("read directory", &d, e))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|e| Error::io("read", &f, e))?;
        h.update(f.to_string_lossy().as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn view<'a>(site: &Site, e: &'a Entry) -> IssueView<'a> {
    let path = format!("{}/", e.slug);
    IssueView {
        title: &e.issue.front.title,
        subject: e.issue.subject(),
        number: e.issue.front.number,
        date: e.date.map(|d| d.to_string()),
        date_long: e.date.map(|d| d.format("%-d %B %Y").to_string()),
        year: e.date.map(|d| d.format("%Y").to_string()),
        preheader: e.issue.front.preheader.as_deref().unwrap_or(""),
        slug: &e.slug,
        url: site.url(&path),
        path,
        image: e.web.image.as_deref(),
        extra: Value::from_serialize(&e.issue.front.extra),
    }
}

/// The values every archive template sees.
fn common(config: &Config, site: &Site) -> Value {
    let n = &config.newsletter;
    context! {
        newsletter => context! {
            name => &n.name,
            tagline => &n.tagline,
            web_url => &n.web_url,
            postal_address => &n.postal_address,
            reason => &n.reason,
            language => &n.language,
            accent_color => &n.accent_color,
        },
        site => context! {
            base_url => site.base(),
            feed_url => site.url("feed.xml"),
            subscribe_url => subscribe_url(config),
            generator => concat!("letterpress ", env!("CARGO_PKG_VERSION")),
        },
    }
}

/// Every file of the site, by site-relative path.
fn render_site(
    config: &Config,
    site: &Site,
    templates: &Templates,
    entries: &[Entry],
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let base = common(config, site);
    let views: Vec<IssueView> = entries.iter().map(|e| view(site, e)).collect();

    // Slugs must be unique: two files with one slug would share a page.
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for e in entries {
        if let Some(other) = seen.insert(&e.slug, &e.issue.path) {
            return Err(Error::Usage(format!(
                "{} and {} both get the archive page {}/; rename one of the files",
                other.display(),
                e.issue.path.display(),
                e.slug
            )));
        }
    }

    let mut years: Vec<(Option<String>, Vec<&IssueView>)> = Vec::new();
    for v in &views {
        match years.last_mut() {
            Some((y, list)) if *y == v.year => list.push(v),
            _ => years.push((v.year.clone(), vec![v])),
        }
    }
    let years: Vec<Value> = years
        .into_iter()
        .map(|(year, issues)| context! { year => year, issues => issues })
        .collect();
    let index = templates.render(
        INDEX,
        &context! { root => "./", page => context! { url => site.base(), path => "" },
        issues => &views, years => years, ..base.clone() },
    )?;
    files.insert("index.html".into(), index.into_bytes());

    // The issue pages are most of the rendering: on every core.
    let pages = crate::parallel::map(entries.len(), |i| {
        let newer = i.checked_sub(1).map(|j| &views[j]);
        issue_page(
            templates,
            &base,
            &entries[i],
            &views[i],
            newer,
            views.get(i + 1),
        )
    });
    for (v, page) in views.iter().zip(pages) {
        files.insert(site::file_of(&v.path), page?.into_bytes());
    }

    let limit = config.archive.feed_entries.unwrap_or(FEED_ENTRIES);
    let dated: Vec<Value> = entries
        .iter()
        .zip(&views)
        .filter(|(e, _)| e.date.is_some())
        .take(limit)
        .map(|(e, v)| {
            context! {
                issue => v,
                updated => rfc3339(e.date),
                content => &e.web.html,
            }
        })
        .collect();
    for e in entries.iter().filter(|e| e.date.is_none()) {
        warnings.push(format!(
            "{}: no `date` (and none in the file name), so it is not in the feed; add `date: YYYY-MM-DD`",
            e.issue.path.display()
        ));
    }
    let updated = rfc3339(entries.iter().filter_map(|e| e.date).max());
    let feed = templates.render(
        FEED,
        &context! { root => "./", updated => updated, entries => dated, ..base.clone() },
    )?;
    files.insert("feed.xml".into(), feed.into_bytes());
    let sitemap = templates.render(
        SITEMAP,
        &context! { root => "./", issues => &views, ..base.clone() },
    )?;
    files.insert("sitemap.xml".into(), sitemap.into_bytes());

    for (e, v) in entries.iter().zip(&views) {
        for alias in &e.issue.front.aliases {
            let path = match site.alias_place(alias) {
                AliasPlace::Page(p) => p,
                AliasPlace::Elsewhere => {
                    warnings.push(format!(
                        "{}: alias {alias} is not under {}, so the archive cannot serve it; redirect it on its own host",
                        e.issue.path.display(),
                        site.base()
                    ));
                    continue;
                }
            };
            let file = site::file_of(&path);
            if path == v.path {
                continue;
            }
            if files.contains_key(&file) {
                return Err(Error::Parse {
                    path: e.issue.path.clone(),
                    line: None,
                    message: format!(
                        "alias {alias} would overwrite the archive's {file}; remove or change the alias"
                    ),
                });
            }
            let page = templates.render(
                ALIAS,
                &context! {
                    root => site::root_from(&path),
                    page => context! { url => site.url(&path), path => &path },
                    issue => v,
                    ..base.clone()
                },
            )?;
            files.insert(file, page.into_bytes());
        }
    }

    let static_dir = templates.dir().join(STATIC_DIR);
    copy_static(&static_dir, &static_dir, &mut files)?;
    files.insert(
        output::MARKER.into(),
        b"This folder is built by `letterpress archive`; it replaces the whole folder on each build.\n"
            .to_vec(),
    );
    Ok(files)
}

/// Renders the page of one issue.
fn issue_page(
    templates: &Templates,
    base: &Value,
    e: &Entry,
    v: &IssueView,
    newer: Option<&IssueView>,
    older: Option<&IssueView>,
) -> Result<String> {
    templates.render(
        ISSUE,
        &context! {
            root => "../",
            page => context! { url => &v.url, path => &v.path },
            issue => v,
            styles => Value::from_safe_string(e.web.styles.clone()),
            body => Value::from_safe_string(e.web.html.clone()),
            text => &e.web.text,
            newer => newer,
            older => older,
            ..base.clone()
        },
    )
}

/// The archive page of one issue as `serve` shows it, with the static files
/// it links to (`../style.css`, ...), by name.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The page, as `archive` writes it (without neighbours), to be served
    /// one folder below the static files.
    pub html: String,
    /// The files of `templates/archive/static/`, site-relative.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The archive page of `issue` (read through [`crate::pipeline::read_issue`]),
/// composed for the web with `config`. Without `[archive] base_url` the
/// canonical URLs use `newsletter.web_url`, as a preview.
pub fn preview(config: &Config, issue: &Issue) -> Result<Preview> {
    let composer = Composer::new(config)?.with_output(Output::Web);
    let site = Site::from_config(config)
        .or_else(|| Site::new(&config.newsletter.web_url))
        .ok_or_else(|| Error::Usage("newsletter.web_url is not a URL".into()))?;
    let email = composer.compose(issue)?;
    let mut issue = issue.clone();
    issue.front.preheader = Some(email.preheader.clone());
    let file_date = crate::collection::IssueFile::new(issue.path.clone()).file_date;
    let entry = Entry {
        date: issue.front.date.or(file_date),
        slug: site::slug(&issue),
        web: web::web_body(&email, &subscribe_url(config)),
        issue,
    };
    let v = view(&site, &entry);
    let html = issue_page(
        composer.templates(),
        &common(config, &site),
        &entry,
        &v,
        None,
        None,
    )?;
    let mut files = BTreeMap::new();
    let static_dir = composer.templates().dir().join(STATIC_DIR);
    copy_static(&static_dir, &static_dir, &mut files)?;
    Ok(Preview { html, files })
}

fn copy_static(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_static(root, &p, files)?;
        } else {
            let rel = p
                .strip_prefix(root)
                .expect("under the static folder")
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&p).map_err(|e| Error::io("read", &p, e))?;
            files.entry(rel).or_insert(bytes);
        }
    }
    Ok(())
}

/// `2026-11-22T00:00:00Z` (the epoch when there is no date).
fn rfc3339(date: Option<chrono::NaiveDate>) -> String {
    let d = date.unwrap_or_default();
    format!("{}T00:00:00Z", d.format("%Y-%m-%d"))
}
