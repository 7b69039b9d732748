//! Unix seconds as a UTC time: the workspace's one civil-date conversion (the server's audit
//! trail and send-rate refusals, the sandbox's relative dates), so no crate needs a date
//! library for it.

/// Unix seconds as RFC 3339 in UTC: `2026-12-06T15:23:53Z`.
pub fn utc_seconds(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (Howard Hinnant's algorithm), for dates after 1970.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::utc_seconds;

    #[test]
    fn days_cross_months_leap_days_and_centuries() {
        assert_eq!(utc_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_seconds(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_seconds(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(utc_seconds(1_796_573_033), "2026-12-06T16:03:53Z");
        assert_eq!(utc_seconds(4_107_542_399), "2100-02-28T23:59:59Z");
        // Hostile input has a bounded outcome, not an overflow.
        assert!(utc_seconds(u64::MAX).ends_with('Z'));
    }
}
