//! Names derived from versions: conflict copies beside a file and entries of
//! the history tree. UTC calendar dates are computed here (days to civil
//! date), without a clock: every time is given.

/// The longest file name, in bytes.
const NAME_MAX: usize = 255;
/// The most bytes of the author kept in a conflict copy's name.
const AUTHOR_MAX: usize = 32;

/// The name of the conflict copy of `name`:
/// `<stem>.conflict-<YYYYMMDD>-<HHMMSS>-<author>.<ext>` (UTC), without
/// `.<ext>` when the name has no extension. The extension is what follows
/// the last dot unless that dot starts or ends the name (`.bashrc` and
/// `notes.` have none; `archive.tar.gz` has stem `archive.tar`, extension
/// `gz`). The result is at most 255 bytes: the stem is shortened (on a
/// character boundary) to fit. `/` and NUL in the author become `_`.
pub fn conflict_name(name: &str, secs_utc: i64, author_short: &str) -> String {
    conflict_name_n(name, secs_utc, author_short, 1)
}

/// [`conflict_name`] for the `n`th copy made at the same second: `n` of 2
/// or more appends `-<n>` after the author (`…-<author>-2.<ext>`).
pub fn conflict_name_n(name: &str, secs_utc: i64, author_short: &str, n: u32) -> String {
    let (stem, ext) = split_extension(name);
    let (date, time) = utc(secs_utc);
    let author: String = truncate(author_short, AUTHOR_MAX)
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    let mut suffix = format!(
        ".conflict-{:04}{:02}{:02}-{:02}{:02}{:02}-{author}",
        date.0, date.1, date.2, time.0, time.1, time.2
    );
    if n >= 2 {
        suffix.push_str(&format!("-{n}"));
    }
    if let Some(ext) = ext {
        // Keep at least one byte of stem; an absurdly long extension gives way.
        let room = NAME_MAX.saturating_sub(1 + suffix.len() + 1);
        suffix.push('.');
        suffix.push_str(truncate(ext, room));
    }
    let stem = truncate(stem, NAME_MAX.saturating_sub(suffix.len()));
    format!("{stem}{suffix}")
}

/// `(stem, extension)` of a file name (see [`conflict_name`]).
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < name.len() => (&name[..dot], Some(&name[dot + 1..])),
        _ => (name, None),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The name of a history entry: `<number>@<UTC time, RFC 3339>`, to the
/// second (`nanos` is dropped), e.g. `3@2026-12-02T03:04:05Z`.
pub fn history_name(number: u64, secs: i64, nanos: u32) -> String {
    let _ = nanos;
    let ((y, mo, d), (h, mi, s)) = utc(secs);
    format!("{number}@{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The version number of a history entry name made by [`history_name`]
/// (`None` for any other name: no `@`, a number with a sign or leading
/// zeros, or a time not of the form `YYYY-MM-DDTHH:MM:SSZ`).
pub fn parse_history_name(name: &str) -> Option<u64> {
    let (number, time) = name.split_once('@')?;
    let canonical = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && (number == "0" || !number.starts_with('0'));
    if !canonical || !is_rfc3339_utc(time) {
        return None;
    }
    number.parse().ok()
}

/// Whether `t` has the shape `YYYY-MM-DDTHH:MM:SSZ`.
fn is_rfc3339_utc(t: &str) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:ddZ";
    t.len() == SHAPE.len()
        && t.bytes().zip(SHAPE).all(|(c, &want)| match want {
            b'd' => c.is_ascii_digit(),
            _ => c == want,
        })
}

/// `((year, month, day), (hour, minute, second))` in UTC of `secs` since
/// the Unix epoch (negative before it).
fn utc(secs: i64) -> ((i64, u32, u32), (u32, u32, u32)) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    (
        crate::units::civil_from_days(days),
        (rem / 3600, rem / 60 % 60, rem % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2027-01-01T00:00:00Z.
    const NEW_YEAR_2027: i64 = 1_798_761_600;

    #[test]
    fn t50_conflict_names() {
        let at = NEW_YEAR_2027 + 3 * 3600 + 4 * 60 + 5;
        let name = |n: &str| conflict_name(n, at, "alice");
        assert_eq!(
            name("report.txt"),
            "report.conflict-20270101-030405-alice.txt"
        );
        assert_eq!(name("Makefile"), "Makefile.conflict-20270101-030405-alice");
        assert_eq!(name(".bashrc"), ".bashrc.conflict-20270101-030405-alice");
        assert_eq!(
            name("archive.tar.gz"),
            "archive.tar.conflict-20270101-030405-alice.gz"
        );
        assert_eq!(name("notes."), "notes..conflict-20270101-030405-alice");
        assert_eq!(
            conflict_name_n("a.txt", at, "alice", 2),
            "a.conflict-20270101-030405-alice-2.txt"
        );
        assert_eq!(
            conflict_name_n("a.txt", at, "alice", 1),
            "a.conflict-20270101-030405-alice.txt"
        );
        assert_eq!(
            conflict_name("a", 0, "x/y\0z"),
            "a.conflict-19700101-000000-x_y_z"
        );
        assert_eq!(
            conflict_name("a", 951_782_400, "b"),
            "a.conflict-20000229-000000-b"
        );
    }

    #[test]
    fn t50_long_conflict_names_are_shortened_on_a_character_boundary() {
        let long = "é".repeat(125) + ".txt"; // 254 bytes
        let got = conflict_name_n(&long, NEW_YEAR_2027, "alice", 7);
        assert!(got.len() <= 255, "{} bytes", got.len());
        assert!(got.starts_with("ééé") && got.ends_with(".conflict-20270101-000000-alice-7.txt"));
        let long_ext = format!("a.{}", "e".repeat(253));
        let got = conflict_name(&long_ext, NEW_YEAR_2027, &"ü".repeat(100));
        assert!(
            got.len() <= 255 && got.starts_with("a.conflict-20270101-000000-ü"),
            "{got}"
        );
    }

    #[test]
    fn t50_history_names_are_rfc3339_utc() {
        assert_eq!(history_name(0, 0, 0), "0@1970-01-01T00:00:00Z");
        assert_eq!(history_name(3, 951_782_400, 0), "3@2000-02-29T00:00:00Z");
        assert_eq!(
            history_name(12, NEW_YEAR_2027, 999_999_999),
            "12@2027-01-01T00:00:00Z"
        );
        assert_eq!(history_name(1, 951_868_799, 0), "1@2000-02-29T23:59:59Z");
        assert_eq!(history_name(1, 951_868_800, 0), "1@2000-03-01T00:00:00Z");
        assert_eq!(history_name(2, -1, 0), "2@1969-12-31T23:59:59Z");
        assert_eq!(history_name(4, 1_796_180_645, 0), "4@2026-12-02T03:04:05Z");
        // No panic at the extremes.
        let _ = history_name(u64::MAX, i64::MIN, u32::MAX);
        let _ = conflict_name("a", i64::MAX, "b");
    }

    #[test]
    fn t50_history_names_parse_back() {
        for (n, secs) in [(0, 0), (3, 951_782_400), (u64::MAX, NEW_YEAR_2027)] {
            assert_eq!(parse_history_name(&history_name(n, secs, 0)), Some(n));
        }
        for bad in [
            "",
            "3",
            "@2026-12-02T03:04:05Z",
            "03@2026-12-02T03:04:05Z",
            "+3@2026-12-02T03:04:05Z",
            "3@2026-12-02",
            "3@2026-12-02T03:04:05Z.txt",
            "3@2026-12-02 03:04:05Z",
            "18446744073709551616@2026-12-02T03:04:05Z",
        ] {
            assert_eq!(parse_history_name(bad), None, "{bad:?}");
        }
    }
}
