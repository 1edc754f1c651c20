//! The names of version entries in the history tree: `<number>@<UTC time>`,
//! the time in RFC 3339 with seconds precision (`3@2026-12-02T03:04:05Z`).
//! Pure: formatting and parsing only.

/// The entry name of version `number` committed at `wall_ms` (milliseconds
/// since the Unix epoch, the version's hybrid-logical wall time).
pub fn version_name(number: u64, wall_ms: u64) -> String {
    format!("{number}@{}", rfc3339(wall_ms / 1000))
}

/// The version number a name of [`version_name`]'s form carries, if it has
/// that form exactly (number without leading zeros, a valid UTC time).
/// Returns the number and the time in whole seconds since the epoch.
pub fn parse_version_name(name: &str) -> Option<(u64, u64)> {
    let (number, time) = name.split_once('@')?;
    if number.is_empty() || number.starts_with('0') || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = number.parse().ok()?;
    let secs = parse_rfc3339(time)?;
    Some((number, secs))
}

/// `YYYY-MM-DDTHH:MM:SSZ` for `secs` seconds after the Unix epoch.
pub fn rfc3339(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = fragfs::units::civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The seconds since the epoch of an RFC 3339 UTC time as [`rfc3339`]
/// writes it; None for anything else.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let shape = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if y < 1970 || !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    Some(days as u64 * 86_400 + h * 3600 + mi * 60 + se)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `y-m-d` (the inverse of `fragfs::units::civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t10_formats_known_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_951_445), "2026-11-29T11:24:05Z");
        assert_eq!(version_name(3, 1_796_180_645_999), "3@2026-12-02T03:04:05Z");
    }

    #[test]
    fn t20_parses_what_it_formats() {
        for secs in [
            0,
            59,
            86_399,
            86_400,
            951_782_400,
            1_796_180_645,
            4_102_444_800,
        ] {
            let name = version_name(7, secs * 1000 + 123);
            assert_eq!(parse_version_name(&name), Some((7, secs)), "{name}");
        }
    }

    #[test]
    fn t30_refuses_other_names() {
        for bad in [
            "",
            "3",
            "@1970-01-01T00:00:00Z",
            "03@1970-01-01T00:00:00Z",
            "0@1970-01-01T00:00:00Z",
            "+3@1970-01-01T00:00:00Z",
            "3@1970-01-01T00:00:00",
            "3@1970-01-01 00:00:00Z",
            "3@1970-02-30T00:00:00Z",
            "3@2025-02-29T00:00:00Z",
            "3@1970-01-01T24:00:00Z",
            "3@1970-01-01T00:00:60Z",
            "3@1970-01-01T00:00:00.5Z",
            "3@1970-01-01T00:00:00+00:00",
            "3@+970-01-01T00:00:00Z",
            "99999999999999999999999@1970-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_version_name(bad), None, "{bad:?}");
        }
    }
}
