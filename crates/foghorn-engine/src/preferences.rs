//! Whether a person wants a message, read the same way when an event is
//! accepted and again just before its notification is sent: the person's
//! own yes or no for the category wins over their no to the whole channel,
//! which wins over the tenant's default for the category.

use chrono::{NaiveDate, NaiveTime, TimeZone, Timelike};
use foghorn_core::policy::{Categories, QuietHours};
use foghorn_core::Channel;
use foghorn_store::{OptInRow, OptOutRow};

/// Status reason of a message the person said no to.
pub const UNSUBSCRIBED: &str = "unsubscribed";
/// Status reason of a category that needs a yes the person never gave.
pub const NO_CONSENT: &str = "no consent";
/// Status reason of a message held back until quiet hours end.
pub const QUIET_HOURS: &str = "quiet hours";
/// Status reason of a critical message sent against a preference.
pub const CRITICAL_BYPASS: &str = "critical: preferences bypassed";

/// What the preferences say of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Not wanted, for this reason.
    Refused(&'static str),
    /// Not wanted, but critical: sent anyway, and the notification says so.
    Bypassed,
}

/// A person's choices as planning and sending read them.
pub struct Wishes<'a> {
    pub opt_outs: &'a [OptOutRow],
    pub opt_ins: &'a [OptInRow],
    pub categories: &'a Categories,
}

impl Wishes<'_> {
    /// The verdict for a `channel` message of `category`. A critical
    /// workflow goes against the person's no, never against a missing
    /// opt-in for marketing: that one is the law's, not a preference.
    pub fn verdict(&self, channel: Channel, category: Option<&str>, critical: bool) -> Verdict {
        let marketing = category
            .and_then(|c| self.categories.get(c))
            .is_some_and(|c| c.marketing);
        match (self.refusal(channel, category), critical) {
            (None, _) => Verdict::Send,
            (Some(NO_CONSENT), true) if marketing => Verdict::Refused(NO_CONSENT),
            (Some(_), true) => Verdict::Bypassed,
            (Some(why), false) => Verdict::Refused(why),
        }
    }

    fn refusal(&self, channel: Channel, category: Option<&str>) -> Option<&'static str> {
        // The person's no to the whole channel, and when they said it.
        let channel_no = self
            .opt_outs
            .iter()
            .filter(|o| o.channel == channel && o.category.is_empty())
            .map(|o| o.created_at)
            .max();
        if let Some(cat) = category {
            if self
                .opt_outs
                .iter()
                .any(|o| o.channel == channel && o.category == cat)
            {
                return Some(UNSUBSCRIBED);
            }
            // A yes to the category counts unless the channel was given
            // up after it ("unsubscribe from all" covers what came before).
            let yes = self
                .opt_ins
                .iter()
                .filter(|o| o.channel == channel && o.category == cat)
                .map(|o| o.created_at)
                .max();
            match (yes, channel_no) {
                (Some(y), Some(n)) if n > y => return Some(UNSUBSCRIBED),
                (Some(_), _) => return None,
                (None, _) => {}
            }
        }
        if channel_no.is_some() {
            return Some(UNSUBSCRIBED);
        }
        // A category the tenant never declared is on for everyone.
        let declared = category.and_then(|c| self.categories.get(c));
        match declared {
            Some(c) if !c.on_by_default(channel) => Some(NO_CONSENT),
            _ => None,
        }
    }
}

/// When a message due at `due_ms` may go, given quiet hours in `tz`: None
/// when it is outside them, else the instant they end. An unknown zone is
/// UTC (zones are checked where they are written).
pub fn quiet_until(due_ms: i64, quiet: QuietHours, tz: Option<&str>) -> Option<i64> {
    if quiet.is_empty() {
        return None;
    }
    let zone: chrono_tz::Tz = tz.and_then(|t| t.parse().ok()).unwrap_or(chrono_tz::UTC);
    let due = chrono::DateTime::from_timestamp_millis(due_ms)?.with_timezone(&zone);
    let local = due.time();
    let minute = (local.hour() * 60 + local.minute()) as u16;
    let (start, end) = (quiet.start, quiet.end);
    let today = due.date_naive();
    let end_day = if start < end {
        (start <= minute && minute < end).then_some(today)?
    } else if minute >= start {
        today.succ_opt()?
    } else if minute < end {
        today
    } else {
        return None;
    };
    Some(local_instant(&zone, end_day, end)?.max(due_ms))
}

/// The first instant at `minute` past midnight on `day` in `zone`; a time
/// skipped by a DST change moves to the first minute that exists after it.
pub(crate) fn local_instant(zone: &chrono_tz::Tz, day: NaiveDate, minute: u16) -> Option<i64> {
    let mut at = NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
    for _ in 0..180 {
        if let Some(t) = zone.from_local_datetime(&day.and_time(at)).earliest() {
            return Some(t.timestamp_millis());
        }
        at += chrono::Duration::minutes(1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use foghorn_core::policy::Category;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    const NIGHT: QuietHours = QuietHours {
        start: 21 * 60,
        end: 8 * 60,
    };

    #[test]
    fn quiet_hours_span_midnight_in_the_persons_zone() {
        let ny = Some("America/New_York");
        // 22:30 in New York (03:30 UTC next day): until 08:00 New York.
        assert_eq!(
            quiet_until(ms("2026-12-02T03:30:00Z"), NIGHT, ny),
            Some(ms("2026-12-02T13:00:00Z"))
        );
        // 06:00 New York: the same morning.
        assert_eq!(
            quiet_until(ms("2026-12-02T11:00:00Z"), NIGHT, ny),
            Some(ms("2026-12-02T13:00:00Z"))
        );
        // 12:00 New York: not quiet.
        assert_eq!(quiet_until(ms("2026-12-02T17:00:00Z"), NIGHT, ny), None);
        // 08:00 sharp is the first minute allowed.
        assert_eq!(quiet_until(ms("2026-12-02T13:00:00Z"), NIGHT, ny), None);
        // A daytime window.
        let lunch = QuietHours {
            start: 12 * 60,
            end: 13 * 60,
        };
        assert_eq!(
            quiet_until(ms("2026-12-02T12:30:00Z"), lunch, None),
            Some(ms("2026-12-02T13:00:00Z"))
        );
        assert_eq!(quiet_until(ms("2026-12-02T13:30:00Z"), lunch, None), None);
        // An empty window never holds anything.
        let none = QuietHours { start: 0, end: 0 };
        assert_eq!(quiet_until(ms("2026-12-02T03:30:00Z"), none, ny), None);
    }

    #[test]
    fn a_window_ending_in_a_dst_gap_ends_at_the_first_real_minute() {
        // 8 March 2026: New York skips 02:00-03:00.
        let q = QuietHours {
            start: 60,
            end: 2 * 60 + 30,
        };
        assert_eq!(
            quiet_until(ms("2026-03-08T06:15:00Z"), q, Some("America/New_York")),
            Some(ms("2026-03-08T07:00:00Z"))
        );
    }

    fn out(channel: Channel, category: &str) -> OptOutRow {
        OptOutRow {
            tenant_id: "t".into(),
            subscriber_id: "s".into(),
            channel,
            category: category.into(),
            source: "api".into(),
            actor: "a".into(),
            created_at: 0,
        }
    }

    fn yes(channel: Channel, category: &str) -> OptInRow {
        OptInRow {
            tenant_id: "t".into(),
            subscriber_id: "s".into(),
            channel,
            category: category.into(),
            source: "api".into(),
            actor: "a".into(),
            consent_text: None,
            created_at: 0,
        }
    }

    #[test]
    fn the_narrower_choice_wins_and_defaults_come_last() {
        let mut cats = Categories::new();
        cats.insert(
            "marketing".into(),
            Category {
                label: None,
                default: false,
                channels: Default::default(),
                marketing: true,
            },
        );
        let outs = [out(Channel::Email, ""), out(Channel::Sms, "warranty")];
        let ins = [
            yes(Channel::Email, "warranty"),
            yes(Channel::Sms, "marketing"),
        ];
        let w = Wishes {
            opt_outs: &outs,
            opt_ins: &ins,
            categories: &cats,
        };
        use Verdict::*;
        assert_eq!(w.verdict(Channel::Email, Some("warranty"), false), Send);
        assert_eq!(
            w.verdict(Channel::Email, Some("invoices"), false),
            Refused(UNSUBSCRIBED)
        );
        assert_eq!(
            w.verdict(Channel::Sms, Some("warranty"), false),
            Refused(UNSUBSCRIBED)
        );
        assert_eq!(w.verdict(Channel::Sms, Some("warranty"), true), Bypassed);
        assert_eq!(w.verdict(Channel::Sms, Some("invoices"), false), Send);
        assert_eq!(w.verdict(Channel::Sms, Some("marketing"), false), Send);
        assert_eq!(
            w.verdict(Channel::Whatsapp, Some("marketing"), false),
            Refused(NO_CONSENT)
        );
        let nobody = Wishes {
            opt_outs: &[],
            opt_ins: &[],
            categories: &cats,
        };
        assert_eq!(
            nobody.verdict(Channel::Sms, Some("marketing"), false),
            Refused(NO_CONSENT)
        );
        assert_eq!(nobody.verdict(Channel::Sms, None, false), Send);
        // Critical does not make up for a missing marketing opt-in.
        assert_eq!(
            nobody.verdict(Channel::Sms, Some("marketing"), true),
            Refused(NO_CONSENT)
        );
    }

    #[test]
    fn a_later_no_to_the_whole_channel_covers_an_earlier_yes() {
        let cats = Categories::new();
        let mut all_email = out(Channel::Email, "");
        all_email.created_at = 20;
        let mut news = yes(Channel::Email, "news");
        news.created_at = 10;
        let outs = [all_email.clone()];
        let ins = [news.clone()];
        let w = Wishes {
            opt_outs: &outs,
            opt_ins: &ins,
            categories: &cats,
        };
        assert_eq!(
            w.verdict(Channel::Email, Some("news"), false),
            Verdict::Refused(UNSUBSCRIBED)
        );
        news.created_at = 30;
        let ins = [news];
        let w = Wishes {
            opt_outs: &outs,
            opt_ins: &ins,
            categories: &cats,
        };
        assert_eq!(
            w.verdict(Channel::Email, Some("news"), false),
            Verdict::Send
        );
    }
}
