//! The compliance gate every outbound call passes before it is dialled: calling hours in the
//! recipient's local time, the tenant's do-not-call list, consent, and attempt caps.
//!
//! Owns: the decision (dial now, defer to a time, or block with a reason) and how the
//! recipient's time zone is found. Must not: look anything up. The caller brings the facts
//! (is the number on the list, the lead's consent, earlier attempts' times, `now`), so the gate
//! is one deterministic function that is the same for reminder calls, the phone agent's
//! outbound calls and every retry.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
pub use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::phone::PhoneNumber;
use crate::DomainError;

/// The local hours calls may be placed in: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallingHours {
    start: NaiveTime,
    end: NaiveTime,
}

impl Default for CallingHours {
    /// 08:00–21:00, the window the US TCPA allows (47 CFR 64.1200(c)(1)) and a common courtesy
    /// elsewhere.
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
            end: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl CallingHours {
    /// A window that starts before it ends on the same day (overnight windows are refused:
    /// nobody should be called at night).
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, DomainError> {
        if start >= end {
            return Err(DomainError::OutOfRange {
                field: "callingHours",
                message: format!("must start before it ends, got {start}–{end}"),
            });
        }
        Ok(Self { start, end })
    }

    /// First allowed local time of a day.
    pub fn start(&self) -> NaiveTime {
        self.start
    }

    /// End of the window (exclusive).
    pub fn end(&self) -> NaiveTime {
        self.end
    }
}

/// How many dialled attempts one number may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptCaps {
    /// Per local calendar day of the recipient.
    pub per_day: u32,
    /// In any 7 × 24 hours.
    pub per_week: u32,
}

impl Default for AttemptCaps {
    /// 3 a day and 7 a week: the CFPB's Regulation F presumes more than 7 calls in 7 days
    /// about one debt to be harassment (12 CFR 1006.14(b)(2)).
    fn default() -> Self {
        Self {
            per_day: 3,
            per_week: 7,
        }
    }
}

/// What the lead said about being called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Consent {
    /// They agreed to calls.
    Granted,
    /// They asked not to be called: final, whatever the tenant's policy.
    Revoked,
    /// Nothing recorded.
    Unknown,
}

impl Consent {
    /// The stable stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Granted => "GRANTED",
            Consent::Revoked => "REVOKED",
            Consent::Unknown => "UNKNOWN",
        }
    }

    /// A stored code back.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        [Consent::Granted, Consent::Revoked, Consent::Unknown]
            .into_iter()
            .find(|consent| consent.as_str() == code)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "call consent",
                value: code.to_owned(),
            })
    }
}

/// A tenant's calling policy: the hours (recipient's local time), whether only leads with
/// recorded consent are called, and the attempt caps. A tenant can only be stricter than the
/// built-in policy ([`CallPolicy::default`]), which follows the strictest common rules: the
/// TCPA's 08:00–21:00 and Regulation F's 7 calls in 7 days. So no setting a tenant chooses
/// can make a call that the default would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CallPolicy {
    hours: CallingHours,
    require_consent: bool,
    caps: AttemptCaps,
}

impl CallPolicy {
    /// A policy inside the built-in limits, or `OutOfRange` naming the field that is not:
    /// hours within 08:00–21:00, caps of at least 1 and at most 3 a day and 7 a week.
    pub fn new(
        hours: CallingHours,
        require_consent: bool,
        caps: AttemptCaps,
    ) -> Result<Self, DomainError> {
        let limit = CallPolicy::default();
        if hours.start < limit.hours.start || hours.end > limit.hours.end {
            return Err(DomainError::OutOfRange {
                field: "callingHours",
                message: format!(
                    "must lie within {}–{} local time, got {}–{}",
                    limit.hours.start.format("%H:%M"),
                    limit.hours.end.format("%H:%M"),
                    hours.start.format("%H:%M"),
                    hours.end.format("%H:%M"),
                ),
            });
        }
        for (field, value, max) in [
            ("maxAttemptsPerDay", caps.per_day, limit.caps.per_day),
            ("maxAttemptsPerWeek", caps.per_week, limit.caps.per_week),
        ] {
            if value == 0 || value > max {
                return Err(DomainError::OutOfRange {
                    field,
                    message: format!("must be between 1 and {max}, got {value}"),
                });
            }
        }
        if caps.per_day > caps.per_week {
            return Err(DomainError::OutOfRange {
                field: "maxAttemptsPerDay",
                message: format!(
                    "cannot exceed maxAttemptsPerWeek ({}), got {}",
                    caps.per_week, caps.per_day
                ),
            });
        }
        Ok(Self {
            hours,
            require_consent,
            caps,
        })
    }

    /// The calling hours.
    pub fn hours(&self) -> CallingHours {
        self.hours
    }

    /// Whether only leads with recorded consent are called.
    pub fn require_consent(&self) -> bool {
        self.require_consent
    }

    /// The attempt caps.
    pub fn caps(&self) -> AttemptCaps {
        self.caps
    }

    /// A stored policy back, re-checked against the limits (a row edited by hand, or written
    /// under looser limits, is refused rather than obeyed).
    pub fn from_stored(value: &serde_json::Value) -> Result<Self, DomainError> {
        let read: CallPolicy =
            serde_json::from_value(value.clone()).map_err(|e| DomainError::OutOfRange {
                field: "callPolicy",
                message: format!("stored policy does not read: {e}"),
            })?;
        CallPolicy::new(read.hours, read.require_consent, read.caps)
    }
}

/// Why the gate refused a call. The stored `blockedReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlockReason {
    /// The number is on the tenant's do-not-call list.
    DoNotCall,
    /// The lead revoked consent, or the tenant requires consent and none is recorded.
    NoConsent,
    /// The number already had its attempts for the recipient's day.
    DailyAttemptCap,
    /// The number already had its attempts for the last 7 days.
    WeeklyAttemptCap,
}

impl BlockReason {
    /// The stable stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockReason::DoNotCall => "DO_NOT_CALL",
            BlockReason::NoConsent => "NO_CONSENT",
            BlockReason::DailyAttemptCap => "DAILY_ATTEMPT_CAP",
            BlockReason::WeeklyAttemptCap => "WEEKLY_ATTEMPT_CAP",
        }
    }
}

/// An IANA time-zone name (`America/Mexico_City`), or `OutOfRange` naming `field`. Callers get
/// [`Tz`] from here so the zone database stays a domain concern.
pub fn parse_time_zone(field: &'static str, name: &str) -> Result<Tz, DomainError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| DomainError::OutOfRange {
            field,
            message: format!("`{name}` is not an IANA time zone such as America/Mexico_City"),
        })
}

/// Where the recipient's time zone came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneSource {
    /// The number's country has one time zone.
    PhoneNumber,
    /// The invoice's time zone.
    Invoice,
    /// The lead's time zone.
    Lead,
    /// The tenant's time zone (the last resort).
    Tenant,
}

/// Time-zone hints, most specific first.
#[derive(Debug, Clone, Copy)]
pub struct ZoneHints {
    pub invoice: Option<Tz>,
    pub lead: Option<Tz>,
    pub tenant: Tz,
}

/// The recipient's time zone: the number's country when that settles it (one zone in the
/// whole country), else the invoice's, else the lead's, else the tenant's.
pub fn recipient_zone(number: &PhoneNumber, hints: ZoneHints) -> (Tz, ZoneSource) {
    if let Some(zone) = single_zone_of(number) {
        return (zone, ZoneSource::PhoneNumber);
    }
    if let Some(zone) = hints.invoice {
        return (zone, ZoneSource::Invoice);
    }
    if let Some(zone) = hints.lead {
        return (zone, ZoneSource::Lead);
    }
    (hints.tenant, ZoneSource::Tenant)
}

/// The time zone of a number whose country spans exactly one. Countries with several (US,
/// Canada, Mexico, Brazil, Australia, Russia, Spain with the Canaries, Portugal with the
/// Azores, Chile with Easter Island, Ecuador with the Galápagos, …) return `None`: guessing
/// there could place a call at 06:00.
fn single_zone_of(number: &PhoneNumber) -> Option<Tz> {
    let parsed = phonenumber::parse(None, number.as_str()).ok()?;
    let region = parsed.country().id()?;
    let code = format!("{region:?}");
    use chrono_tz::{Africa, America, Asia, Europe};
    Some(match code.as_str() {
        "GB" => Europe::London,
        "IE" => Europe::Dublin,
        "FR" => Europe::Paris,
        "DE" => Europe::Berlin,
        "IT" => Europe::Rome,
        "NL" => Europe::Amsterdam,
        "BE" => Europe::Brussels,
        "CH" => Europe::Zurich,
        "AT" => Europe::Vienna,
        "SE" => Europe::Stockholm,
        "NO" => Europe::Oslo,
        "DK" => Europe::Copenhagen,
        "FI" => Europe::Helsinki,
        "PL" => Europe::Warsaw,
        "CZ" => Europe::Prague,
        "GR" => Europe::Athens,
        "TR" => Europe::Istanbul,
        "JP" => Asia::Tokyo,
        "KR" => Asia::Seoul,
        "IN" => Asia::Kolkata,
        "CN" => Asia::Shanghai,
        "SG" => Asia::Singapore,
        "HK" => Asia::Hong_Kong,
        "PH" => Asia::Manila,
        "IL" => Asia::Jerusalem,
        "AE" => Asia::Dubai,
        "SA" => Asia::Riyadh,
        "CO" => America::Bogota,
        "PE" => America::Lima,
        "VE" => America::Caracas,
        "AR" => America::Argentina::Buenos_Aires,
        "UY" => America::Montevideo,
        "PY" => America::Asuncion,
        "BO" => America::La_Paz,
        "CR" => America::Costa_Rica,
        "GT" => America::Guatemala,
        "SV" => America::El_Salvador,
        "HN" => America::Tegucigalpa,
        "NI" => America::Managua,
        "PA" => America::Panama,
        "DO" => America::Santo_Domingo,
        "PR" => America::Puerto_Rico,
        "CU" => America::Havana,
        "ZA" => Africa::Johannesburg,
        "NG" => Africa::Lagos,
        "EG" => Africa::Cairo,
        "KE" => Africa::Nairobi,
        "MA" => Africa::Casablanca,
        _ => return None,
    })
}

/// The facts the gate decides on.
#[derive(Debug, Clone)]
pub struct DialCheck<'a> {
    /// The number to dial.
    pub number: &'a PhoneNumber,
    /// Now.
    pub now: DateTime<Utc>,
    /// Time-zone hints for the recipient.
    pub zones: ZoneHints,
    /// The tenant's calling policy (hours, consent required, caps).
    pub policy: CallPolicy,
    /// Whether the number is on the tenant's do-not-call list.
    pub on_do_not_call_list: bool,
    /// The lead's consent.
    pub consent: Consent,
    /// When earlier attempts to this number were dialled (blocked ones are not attempts).
    pub earlier_attempts: &'a [DateTime<Utc>],
}

/// The gate's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialDecision {
    /// Dial now.
    Dial,
    /// Allowed, but outside the calling hours: dial at this instant (the next allowed minute).
    Defer { until: DateTime<Utc> },
    /// Never dial; store the call as BLOCKED with this reason.
    Block(BlockReason),
}

/// Decides whether a call may be dialled now. Refusals that waiting cannot fix (the list,
/// consent, caps) come first; calling hours only defer.
pub fn check_dial(check: &DialCheck<'_>) -> DialDecision {
    if check.on_do_not_call_list {
        return DialDecision::Block(BlockReason::DoNotCall);
    }
    match check.consent {
        Consent::Revoked => return DialDecision::Block(BlockReason::NoConsent),
        Consent::Unknown if check.policy.require_consent => {
            return DialDecision::Block(BlockReason::NoConsent)
        }
        _ => {}
    }
    let (zone, _) = recipient_zone(check.number, check.zones);
    let week_ago = check.now - Duration::days(7);
    let this_week = check
        .earlier_attempts
        .iter()
        .filter(|at| **at > week_ago && **at <= check.now)
        .count();
    if this_week >= check.policy.caps.per_week as usize {
        return DialDecision::Block(BlockReason::WeeklyAttemptCap);
    }
    let today = check.now.with_timezone(&zone).date_naive();
    let today_count = check
        .earlier_attempts
        .iter()
        .filter(|at| **at <= check.now && at.with_timezone(&zone).date_naive() == today)
        .count();
    if today_count >= check.policy.caps.per_day as usize {
        return DialDecision::Block(BlockReason::DailyAttemptCap);
    }
    match next_allowed(check.now, zone, check.policy.hours) {
        at if at <= check.now => DialDecision::Dial,
        until => DialDecision::Defer { until },
    }
}

/// The first instant at or after `now` inside the calling hours in `zone` (`now` itself when
/// it already is).
pub fn next_allowed(now: DateTime<Utc>, zone: Tz, hours: CallingHours) -> DateTime<Utc> {
    let local = now.with_timezone(&zone);
    let time = local.time();
    if time >= hours.start && time < hours.end {
        return now;
    }
    let day = if time < hours.start {
        local.date_naive()
    } else {
        local.date_naive().succ_opt().unwrap_or(local.date_naive())
    };
    window_start(day, zone, hours).unwrap_or(now)
}

/// The window's start on `day`, in UTC. On a day whose start falls in a DST gap (the clock
/// jumps over it), the first minute after the gap.
fn window_start(day: NaiveDate, zone: Tz, hours: CallingHours) -> Option<DateTime<Utc>> {
    let mut candidate = day.and_time(hours.start);
    // A gap is at most a few hours; step minute by minute past it.
    for _ in 0..(4 * 60) {
        if let Some(at) = zone.from_local_datetime(&candidate).earliest() {
            return Some(at.with_timezone(&Utc));
        }
        candidate += Duration::minutes(1);
    }
    // No zone has a gap this long; answer a day later rather than never.
    let next = day.succ_opt()?;
    zone.from_local_datetime(&next.and_time(hours.start))
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono_tz::{America, Europe};

    fn phone(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&Utc)
    }

    const US: &str = "+14155550123";
    const UK: &str = "+442079460000";

    fn check<'a>(
        number: &'a PhoneNumber,
        now: &str,
        attempts: &'a [DateTime<Utc>],
    ) -> DialCheck<'a> {
        DialCheck {
            number,
            now: utc(now),
            zones: ZoneHints {
                invoice: None,
                lead: Some(America::Los_Angeles),
                tenant: America::New_York,
            },
            policy: CallPolicy::default(),
            on_do_not_call_list: false,
            consent: Consent::Unknown,
            earlier_attempts: attempts,
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            parse_time_zone("timeZone", " America/Mexico_City ").ok(),
            Some(chrono_tz::America::Mexico_City)
        );
        assert!(parse_time_zone("timeZone", "Mars/Olympus").is_err());
        assert!(parse_time_zone("timeZone", "").is_err());
    }

    #[test]
    fn the_zone_comes_from_the_number_when_its_country_has_one() {
        let hints = ZoneHints {
            invoice: Some(America::Chicago),
            lead: Some(America::Denver),
            tenant: America::New_York,
        };
        assert_eq!(
            recipient_zone(&phone(UK), hints),
            (Europe::London, ZoneSource::PhoneNumber)
        );
        // +1 spans many zones: the invoice decides, then the lead, then the tenant.
        assert_eq!(
            recipient_zone(&phone(US), hints),
            (America::Chicago, ZoneSource::Invoice)
        );
        let no_invoice = ZoneHints {
            invoice: None,
            ..hints
        };
        assert_eq!(
            recipient_zone(&phone(US), no_invoice),
            (America::Denver, ZoneSource::Lead)
        );
        let tenant_only = ZoneHints {
            invoice: None,
            lead: None,
            ..hints
        };
        assert_eq!(
            recipient_zone(&phone(US), tenant_only),
            (America::New_York, ZoneSource::Tenant)
        );
        // Spain has the Canaries, an hour apart: the number does not settle it.
        assert_eq!(
            recipient_zone(&phone("+34912345678"), hints).1,
            ZoneSource::Invoice
        );
    }

    #[test]
    fn inside_the_window_dials_now() {
        let number = phone(US);
        // 10:00 in Los Angeles (PST, UTC-8).
        assert_eq!(
            check_dial(&check(&number, "2024-01-15T18:00:00Z", &[])),
            DialDecision::Dial
        );
    }

    #[test]
    fn before_the_window_defers_to_its_start_the_same_day() {
        let number = phone(US);
        // 06:30 PST → 08:00 PST = 16:00Z.
        assert_eq!(
            check_dial(&check(&number, "2024-01-15T14:30:00Z", &[])),
            DialDecision::Defer {
                until: utc("2024-01-15T16:00:00Z")
            }
        );
    }

    #[test]
    fn at_or_after_the_end_defers_to_the_next_morning() {
        let number = phone(US);
        // 21:00 PST exactly is outside [08:00, 21:00) → 08:00 PST next day.
        assert_eq!(
            check_dial(&check(&number, "2024-01-16T05:00:00Z", &[])),
            DialDecision::Defer {
                until: utc("2024-01-16T16:00:00Z")
            }
        );
    }

    #[test]
    fn the_window_follows_daylight_saving_time() {
        let number = phone(US);
        // Summer: 08:00 PDT is 15:00Z. 07:59 PDT defers by one minute.
        assert_eq!(
            check_dial(&check(&number, "2024-07-01T14:59:00Z", &[])),
            DialDecision::Defer {
                until: utc("2024-07-01T15:00:00Z")
            }
        );
        assert_eq!(
            check_dial(&check(&number, "2024-07-01T15:00:00Z", &[])),
            DialDecision::Dial
        );
        // The night DST starts (10 March 2024): after 21:00 PST on the 9th, the next morning
        // is 08:00 PDT = 15:00Z, not 16:00Z.
        assert_eq!(
            check_dial(&check(&number, "2024-03-10T06:00:00Z", &[])),
            DialDecision::Defer {
                until: utc("2024-03-10T15:00:00Z")
            }
        );
        // And when it ends (3 November 2024): 08:00 PST = 16:00Z.
        assert_eq!(
            check_dial(&check(&number, "2024-11-03T05:00:00Z", &[])),
            DialDecision::Defer {
                until: utc("2024-11-03T16:00:00Z")
            }
        );
    }

    #[test]
    fn a_start_inside_a_dst_gap_moves_past_the_gap() {
        // A window starting at 02:30 on the night London skips 01:00–02:00 is fine, but one
        // in New York where 02:00–03:00 is skipped must land on 03:00 EDT.
        let hours = CallingHours::new(
            NaiveTime::from_hms_opt(2, 30, 0).unwrap_or(NaiveTime::MIN),
            NaiveTime::from_hms_opt(20, 0, 0).unwrap_or(NaiveTime::MIN),
        )
        .unwrap_or_default();
        let at = next_allowed(utc("2024-03-10T04:00:00Z"), America::New_York, hours);
        assert_eq!(at, utc("2024-03-10T07:00:00Z"));
    }

    #[test]
    fn the_do_not_call_list_and_consent_block_whatever_the_hour() {
        let number = phone(US);
        let mut listed = check(&number, "2024-01-15T18:00:00Z", &[]);
        listed.on_do_not_call_list = true;
        assert_eq!(
            check_dial(&listed),
            DialDecision::Block(BlockReason::DoNotCall)
        );
        let mut revoked = check(&number, "2024-01-15T03:00:00Z", &[]);
        revoked.consent = Consent::Revoked;
        assert_eq!(
            check_dial(&revoked),
            DialDecision::Block(BlockReason::NoConsent)
        );
        let mut required = check(&number, "2024-01-15T18:00:00Z", &[]);
        required.policy =
            CallPolicy::new(CallingHours::default(), true, AttemptCaps::default()).unwrap();
        assert_eq!(
            check_dial(&required),
            DialDecision::Block(BlockReason::NoConsent)
        );
        required.consent = Consent::Granted;
        assert_eq!(check_dial(&required), DialDecision::Dial);
    }

    #[test]
    fn attempt_caps_count_the_recipients_day_and_a_rolling_week() {
        let number = phone(US);
        // Three attempts earlier on 15 January, Los Angeles time.
        let today = [
            utc("2024-01-15T16:10:00Z"),
            utc("2024-01-15T17:00:00Z"),
            utc("2024-01-15T17:30:00Z"),
        ];
        assert_eq!(
            check_dial(&check(&number, "2024-01-15T18:00:00Z", &today)),
            DialDecision::Block(BlockReason::DailyAttemptCap)
        );
        // 07:00Z on the 16th is still the 15th in Los Angeles (23:00 PST)…
        let late = [
            utc("2024-01-15T16:10:00Z"),
            utc("2024-01-15T17:00:00Z"),
            utc("2024-01-16T04:00:00Z"),
        ];
        assert_eq!(
            check_dial(&check(&number, "2024-01-16T04:30:00Z", &late)),
            DialDecision::Block(BlockReason::DailyAttemptCap)
        );
        // …and the next local day starts fresh.
        assert_eq!(
            check_dial(&check(&number, "2024-01-16T18:00:00Z", &late)),
            DialDecision::Dial
        );
        // Seven attempts in the last 7 × 24 h block, one more day later they don't.
        let week: Vec<DateTime<Utc>> = (1..=7)
            .map(|d| utc("2024-01-08T18:00:00Z") + Duration::days(d))
            .collect();
        assert_eq!(
            check_dial(&check(&number, "2024-01-15T19:00:00Z", &week)),
            DialDecision::Block(BlockReason::WeeklyAttemptCap)
        );
        assert_eq!(
            check_dial(&check(&number, "2024-01-16T19:00:00Z", &week)),
            DialDecision::Dial
        );
    }

    #[test]
    fn calling_hours_must_start_before_they_end() {
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
        assert!(CallingHours::new(t(9), t(17)).is_ok());
        assert!(CallingHours::new(t(21), t(8)).is_err());
        assert!(CallingHours::new(t(9), t(9)).is_err());
    }

    #[test]
    fn a_tenant_policy_can_only_be_stricter_than_the_built_in_one() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let caps = |per_day, per_week| AttemptCaps { per_day, per_week };
        let hours = |a, b| CallingHours::new(a, b).unwrap();
        let strict = CallPolicy::new(hours(t(9, 30), t(18, 0)), true, caps(1, 2)).unwrap();
        assert_eq!(strict.caps().per_day, 1);
        for (policy, field) in [
            (
                CallPolicy::new(hours(t(7, 59), t(18, 0)), false, caps(1, 2)),
                "callingHours",
            ),
            (
                CallPolicy::new(hours(t(9, 0), t(21, 1)), false, caps(1, 2)),
                "callingHours",
            ),
            (
                CallPolicy::new(hours(t(9, 0), t(17, 0)), false, caps(0, 2)),
                "maxAttemptsPerDay",
            ),
            (
                CallPolicy::new(hours(t(9, 0), t(17, 0)), false, caps(4, 7)),
                "maxAttemptsPerDay",
            ),
            (
                CallPolicy::new(hours(t(9, 0), t(17, 0)), false, caps(1, 8)),
                "maxAttemptsPerWeek",
            ),
            (
                CallPolicy::new(hours(t(9, 0), t(17, 0)), false, caps(3, 2)),
                "maxAttemptsPerDay",
            ),
        ] {
            match policy {
                Err(DomainError::OutOfRange { field: got, .. }) => assert_eq!(got, field),
                other => panic!("expected {field} to be refused, got {other:?}"),
            }
        }
        // Stored and read back; a stored policy looser than the limits is refused.
        let stored = serde_json::to_value(strict).unwrap();
        assert_eq!(CallPolicy::from_stored(&stored).unwrap(), strict);
        let mut loose = stored.clone();
        loose["caps"]["perWeek"] = serde_json::json!(50);
        assert!(CallPolicy::from_stored(&loose).is_err());
        assert!(CallPolicy::from_stored(&serde_json::json!({"hours": 3})).is_err());
    }

    #[test]
    fn a_stricter_policy_defers_and_caps_sooner() {
        let number = phone(US);
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        let policy = CallPolicy::new(
            CallingHours::new(t(10), t(16)).unwrap(),
            false,
            AttemptCaps {
                per_day: 1,
                per_week: 2,
            },
        )
        .unwrap();
        // 17:00Z is 09:00 in Los Angeles: inside the default window, before this one.
        let mut early = check(&number, "2024-01-15T17:00:00Z", &[]);
        assert_eq!(check_dial(&early), DialDecision::Dial);
        early.policy = policy;
        assert_eq!(
            check_dial(&early),
            DialDecision::Defer {
                until: utc("2024-01-15T18:00:00Z")
            }
        );
        let once = [utc("2024-01-15T18:05:00Z")];
        let mut again = check(&number, "2024-01-15T19:00:00Z", &once);
        again.policy = policy;
        assert_eq!(
            check_dial(&again),
            DialDecision::Block(BlockReason::DailyAttemptCap)
        );
    }

    #[test]
    fn consent_codes_round_trip() {
        for consent in [Consent::Granted, Consent::Revoked, Consent::Unknown] {
            assert_eq!(Consent::parse(consent.as_str()).ok(), Some(consent));
        }
        assert!(Consent::parse("granted").is_err());
    }

    #[test]
    fn block_reasons_have_stable_codes() {
        assert_eq!(BlockReason::DoNotCall.as_str(), "DO_NOT_CALL");
        assert_eq!(BlockReason::NoConsent.as_str(), "NO_CONSENT");
        assert_eq!(BlockReason::DailyAttemptCap.as_str(), "DAILY_ATTEMPT_CAP");
        assert_eq!(BlockReason::WeeklyAttemptCap.as_str(), "WEEKLY_ATTEMPT_CAP");
    }
}
