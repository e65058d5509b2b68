//! Reminder series: one event (`warranty.expiring` with `expires_on`)
//! planned as reminders at offsets from its date (`series = ["-90d",
//! "-30d", "-7d"]`), each at a local time of day (`at = "10:00"`) in the
//! person's zone. A later event with the same grouping key re-plans what is
//! still to come; what was sent is never sent again.

use chrono::NaiveDate;
use serde_json::Value;

/// The default time of day of a reminder.
pub const DEFAULT_AT: &str = "10:00";
/// The default field of `data` holding the series' date.
pub const DEFAULT_ANCHOR: &str = "expires_on";
/// Most reminders one series may plan.
pub const MAX_REMINDERS: usize = 12;

/// `-90d` → -90; `+3d` and `3d` → 3. Days only: a reminder is a date, its
/// time of day is `at`. At most ten years either way.
pub fn parse_offset(text: &str) -> Option<i64> {
    let body = text.strip_suffix('d')?;
    let (sign, digits) = match body.as_bytes().first()? {
        b'-' => (-1, &body[1..]),
        b'+' => (1, &body[1..]),
        _ => (1, body),
    };
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let days: i64 = digits.parse().ok()?;
    (days <= 3_660).then_some(sign * days)
}

/// `10:00` → minutes past midnight.
pub fn parse_at(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// The series' date from `data[anchor]`: `2027-03-15`, or the date of an
/// RFC 3339 time (`2027-03-15T00:00:00Z`) as written, zone ignored: a
/// warranty ends on a day, wherever its owner is.
pub fn anchor_date(data: &Value, anchor: &str) -> Option<NaiveDate> {
    let text = data.get(anchor)?.as_str()?;
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// One reminder of a series, as the intake planned it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reminder {
    /// As the workflow wrote it: `-30d`.
    pub offset: String,
    /// The local date it is sent on.
    pub date: NaiveDate,
    /// Days from the reminder to the series' date (30 for `-30d`): what
    /// templates read as `data.days_left`.
    pub days_left: i64,
    /// The person steps whose condition holds on this reminder's day.
    pub steps: Vec<usize>,
}

/// When a reminder dated `date` at `minute` is due in `zone` (the person's,
/// else the tenant's, else UTC); a time a DST change skips moves to the
/// first minute after it.
pub fn due_ms(date: NaiveDate, minute: u16, zone: Option<&str>) -> Option<i64> {
    let zone: chrono_tz::Tz = zone.and_then(|t| t.parse().ok()).unwrap_or(chrono_tz::UTC);
    crate::preferences::local_instant(&zone, date, minute)
}

/// What is wrong with a workflow's series settings, if anything.
pub fn problem(series: &[String], at: Option<&str>, anchor: Option<&str>) -> Option<String> {
    if series.is_empty() || series.len() > MAX_REMINDERS {
        return Some(format!("series names 1 to {MAX_REMINDERS} offsets"));
    }
    if let Some(bad) = series.iter().find(|o| parse_offset(o).is_none()) {
        return Some(format!(
            "series: `{bad}` is not an offset in days such as -30d"
        ));
    }
    let mut days: Vec<i64> = series.iter().filter_map(|o| parse_offset(o)).collect();
    days.sort_unstable();
    if days.windows(2).any(|w| w[0] == w[1]) {
        return Some("series: each offset once".into());
    }
    if at.is_some_and(|a| parse_at(a).is_none()) {
        return Some("at is a local time of day, HH:MM, such as 10:00".into());
    }
    if anchor.is_some_and(|a| {
        a.is_empty() || a.len() > 64 || !a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }) {
        return Some("anchor names a field of data: letters, digits and _".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn offsets_times_and_dates_read_as_written() {
        assert_eq!(parse_offset("-90d"), Some(-90));
        assert_eq!(parse_offset("+1d"), Some(1));
        assert_eq!(parse_offset("0d"), Some(0));
        for bad in ["-90", "90h", "-d", "--1d", "-99999d", "1.5d", ""] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        assert_eq!(parse_at("10:00"), Some(600));
        assert_eq!(parse_at("23:59"), Some(1439));
        for bad in ["24:00", "9:00", "10:60", "10", "ab:cd"] {
            assert_eq!(parse_at(bad), None, "{bad}");
        }
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            anchor_date(&json!({"expires_on": "2027-03-15"}), "expires_on"),
            Some(d("2027-03-15"))
        );
        assert_eq!(
            anchor_date(&json!({"due_on": "2027-03-15T23:00:00-05:00"}), "due_on"),
            Some(d("2027-03-15"))
        );
        assert_eq!(
            anchor_date(&json!({"expires_on": "15/03/2027"}), "expires_on"),
            None
        );
        assert_eq!(
            anchor_date(&json!({"expires_on": 20270315}), "expires_on"),
            None
        );
        // 10:00 in Paris in winter is 09:00 UTC; in New York in summer 14:00.
        assert_eq!(
            due_ms(d("2027-01-15"), 600, Some("Europe/Paris")),
            Some(
                chrono::DateTime::parse_from_rfc3339("2027-01-15T09:00:00Z")
                    .unwrap()
                    .timestamp_millis()
            )
        );
        assert_eq!(
            due_ms(d("2027-07-15"), 600, Some("America/New_York")),
            Some(
                chrono::DateTime::parse_from_rfc3339("2027-07-15T14:00:00Z")
                    .unwrap()
                    .timestamp_millis()
            )
        );
        assert!(problem(&["-30d".into(), "-30d".into()], None, None).is_some());
        assert!(problem(&["-30d".into()], Some("25:00"), None).is_some());
        assert!(problem(&["-30d".into()], None, Some("a.b")).is_some());
        assert!(problem(
            &["-90d".into(), "-30d".into(), "-7d".into()],
            Some("10:00"),
            Some("due_on")
        )
        .is_none());
    }
}
