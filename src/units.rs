//! Human-readable byte sizes and durations: parsing `64K`, `1M`, `10G`
//! and printing `1.5 MiB`; parsing `30s`, `10m`, `1h30m` and printing
//! them back; the calendar date of a day number. Pure.

use std::time::Duration;

/// Parses sizes like `4096`, `64K`, `1M`, `1MiB`, `10G` (binary units).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (try 64K, 1M or 10G)"))?;
    let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return Err(format!("'{s}' has an unknown unit (use K, M, G or T)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Parses durations like `500ms`, `30s`, `10m`, `1h`, `2d` or a sum of
/// them (`1h30m`). A bare `0` is zero; any other number needs its unit.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let hint = "(try 30s, 10m, 1h or 1h30m)";
    if t.is_empty() {
        return Err(format!("'{s}' is not a duration {hint}"));
    }
    let (mut total, mut rest) = (Duration::ZERO, t);
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("'{s}' is not a duration {hint}"))?;
        let end = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(end);
        let ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(format!("'{s}' needs a unit: ms, s, m, h or d {hint}")),
            _ => {
                return Err(format!(
                    "'{s}' has an unknown unit '{unit}' (use ms, s, m, h or d)"
                ))
            }
        };
        let part = n
            .checked_mul(ms)
            .map(Duration::from_millis)
            .ok_or_else(|| format!("'{s}' is too long"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("'{s}' is too long"))?;
        rest = next;
    }
    Ok(total)
}

/// The proleptic Gregorian date `(year, month, day)` of a day number
/// (days since 1970-01-01, negative before), by H. Hinnant's
/// `civil_from_days`: eras of 400 years starting in March.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from March 1
    let mp = (5 * doy + 2) / 153; // 0..=11, March first
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Prints a duration the way [`parse_duration`] reads it: `1h30m`, `45s`,
/// `250ms`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut left = ms;
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn t10_parse_and_format() {
        assert_eq!(parse_bytes("64K").unwrap(), 65536);
        assert_eq!(parse_bytes("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("12").unwrap(), 12);
        assert!(parse_bytes("1X").is_err());
        assert!(parse_bytes("x").is_err());
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(1 << 20), "1 MiB");
        assert_eq!(format_bytes(5), "5 B");
    }

    #[test]
    fn t10_durations_parse_and_print_back() {
        let secs = |n| Duration::from_secs(n);
        assert_eq!(parse_duration("30s").unwrap(), secs(30));
        assert_eq!(parse_duration("10m").unwrap(), secs(600));
        assert_eq!(parse_duration("1h").unwrap(), secs(3600));
        assert_eq!(parse_duration("2d").unwrap(), secs(2 * 86_400));
        assert_eq!(parse_duration(" 1h30m ").unwrap(), secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        for d in ["1h30m", "45s", "250ms", "2d", "0s", "1m1s1ms"] {
            assert_eq!(format_duration(parse_duration(d).unwrap()), d);
        }
    }

    #[test]
    fn t20_bad_durations_are_clear_errors() {
        let err = |s| parse_duration(s).unwrap_err();
        assert!(err("10").contains("needs a unit"), "{}", err("10"));
        assert!(err("5w").contains("unknown unit 'w'"), "{}", err("5w"));
        assert!(err("s").contains("not a duration"), "{}", err("s"));
        assert!(err("").contains("not a duration"), "{}", err(""));
        assert!(err("-1s").contains("not a duration"), "{}", err("-1s"));
        assert!(err("1.5h").contains("unknown unit"), "{}", err("1.5h"));
        assert!(err("99999999999999999d").contains("too long"));
        for s in ["10", "5w", "", "x", "1h 30m"] {
            assert_eq!(err(s).lines().count(), 1, "one line for {s:?}");
        }
    }
}
