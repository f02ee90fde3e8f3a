//! Reading export files: CSV (quoted fields, embedded newlines, a UTF-8 BOM,
//! `,` `;` or tab separators, UTF-8 or Windows-1252 text) and Mailchimp's
//! zip of CSVs, read straight from the archive.
//!
//! Files are streamed, never loaded whole: a million-row export costs the
//! memory of its readers, not of its text.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::platform::{Layout, Platform, RowReading};
use crate::error::{Error, Result};

/// One CSV read (a file, or one member of a zip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// How it is named in messages: the path, or `archive.zip:member.csv`.
    pub label: String,
    /// The platform it was read as.
    pub platform: Platform,
    /// Data rows read (not counting the header).
    pub rows: u64,
}

/// What the reader hands over for each row: where it is, and what it says
/// (or what is wrong with it).
pub type Visit<'v> = dyn FnMut(&str, u64, std::result::Result<RowReading<'_>, String>) + 'v;

/// Reads the export at `path` (a CSV or a zip of CSVs), calling `visit` for
/// every data row. A header that names no known platform is reported to
/// `visit` as a bad line 1 (so one run lists every problem); I/O errors and
/// unreadable archives end the read.
pub fn read_path(path: &Path, from: Option<Platform>, visit: &mut Visit<'_>) -> Result<Vec<Sheet>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut input = BufReader::with_capacity(1 << 16, file);
    let head = input.fill_buf().map_err(|e| Error::io("read", path, e))?;
    let label = path.display().to_string();
    if !head.starts_with(b"PK\x03\x04") {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        return Ok(read_csv(input, &label, &name, from, visit)?
            .into_iter()
            .collect());
    }
    drop(input);
    let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let bad_zip = |e: zip::result::ZipError| {
        Error::parse(
            path,
            None,
            format!("not a readable zip archive ({e}); unzip it and import the CSV files inside"),
        )
    };
    let mut archive = zip::ZipArchive::new(file).map_err(bad_zip)?;
    let mut names: Vec<String> = archive
        .file_names()
        .filter(|n| {
            let lower = n.to_ascii_lowercase();
            lower.ends_with(".csv") && !lower.starts_with("__macosx/") && !lower.ends_with('/')
        })
        .map(String::from)
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::parse(
            path,
            None,
            "this zip archive holds no .csv file; is it an audience export?",
        ));
    }
    let mut sheets = Vec::new();
    for name in names {
        let member = archive.by_name(&name).map_err(bad_zip)?;
        let member_label = format!("{label}:{name}");
        let input = BufReader::with_capacity(1 << 16, member);
        if let Some(sheet) = read_csv(input, &member_label, &name, from, visit)? {
            sheets.push(sheet);
        }
    }
    Ok(sheets)
}

/// Reads one CSV; `None` when its header named no platform (reported).
fn read_csv<R: Read>(
    mut input: BufReader<R>,
    label: &str,
    file_name: &str,
    from: Option<Platform>,
    visit: &mut Visit<'_>,
) -> Result<Option<Sheet>> {
    let io = |e: std::io::Error| Error::io("read", label, e);
    let head = input.fill_buf().map_err(io)?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        visit(
            label,
            1,
            Err("the file is UTF-16 text; export it again as CSV (UTF-8), or save it as \"CSV UTF-8\"".into()),
        );
        return Ok(None);
    }
    let bom = if head.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let delimiter = sniff_delimiter(&head[bom..]);
    input.consume(bom);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let csv_error = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::io("read", label, e),
        other => Error::parse(label, None, format!("{other:?}")),
    };
    if !csv.read_byte_record(&mut record).map_err(csv_error)? {
        visit(
            label,
            1,
            Err("the file is empty; expected a header line such as `email,name`".into()),
        );
        return Ok(None);
    }
    let header: Vec<String> = record
        .iter()
        .map(|f| decode(f).trim().trim_matches('"').trim().to_lowercase())
        .collect();
    let platform = match from.or_else(|| Platform::detect(&header)) {
        Some(p) => p,
        None => {
            visit(
                label,
                1,
                Err(format!(
                    "cannot tell which platform this export comes from (header: `{}`); pass --from NAME \
                     (substack, mailchimp, buttondown, listmonk, ghost, beehiiv, keila, revue, csv), \
                     or give it an `email` column",
                    header.join(if delimiter == b';' { ";" } else { "," }).escape_debug()
                )),
            );
            return Ok(None);
        }
    };
    let layout = match Layout::new(platform, &header, file_name) {
        Ok(l) => l,
        Err(why) => {
            visit(label, 1, Err(why));
            return Ok(None);
        }
    };
    let mut rows = 0;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                match e.into_kind() {
                    csv::ErrorKind::Io(e) => return Err(Error::io("read", label, e)),
                    other => {
                        visit(label, line, Err(format!("not valid CSV here ({other:?})")));
                        break;
                    }
                }
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        rows += 1;
        let fields: Vec<Cow<'_, str>> = record.iter().map(decode).collect();
        let strs: Vec<&str> = fields.iter().map(|f| f.as_ref()).collect();
        visit(label, line, layout.read(&strs));
    }
    Ok(Some(Sheet {
        label: label.to_string(),
        platform,
        rows,
    }))
}

/// A field as text: UTF-8 where it is valid, else Windows-1252 (what Excel
/// and older exports write), which maps every byte to a character.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// The separator of the header line: the most frequent of `,`, `;` and tab
/// outside quotes (`,` when none appears).
fn sniff_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_separator_is_sniffed_outside_quotes() {
        assert_eq!(sniff_delimiter(b"email;name;\"a,b,c\"\n1,2,3,4"), b';');
        assert_eq!(sniff_delimiter(b"email,name\n"), b',');
        assert_eq!(sniff_delimiter(b"email\tname\n"), b'\t');
        assert_eq!(sniff_delimiter(b"email\n"), b',');
    }

    #[test]
    fn fields_that_are_not_utf8_are_read_as_windows_1252() {
        assert_eq!(decode(b"Jos\xe9"), "José");
        assert_eq!(decode("José".as_bytes()), "José");
        assert_eq!(decode(b"\x93quoted\x94"), "\u{201c}quoted\u{201d}");
    }
}
