//! Promotional seasons: the rules a season's fields must satisfy, and its state, which is
//! derived from the clock and never stored.

use super::error::{Code, Errors, FieldError, Rejection};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeasonState {
    /// Before applications open.
    Upcoming,
    /// The applications window is open.
    Accepting,
    /// Applications closed, the run window not over.
    Running,
    Ended,
}

impl SeasonState {
    pub fn as_str(self) -> &'static str {
        match self {
            SeasonState::Upcoming => "upcoming",
            SeasonState::Accepting => "accepting",
            SeasonState::Running => "running",
            SeasonState::Ended => "ended",
        }
    }
}

/// The state of a season with these windows at `now`.
pub fn state_at(
    applications_open_at: DateTime<Utc>,
    applications_close_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SeasonState {
    if now < applications_open_at {
        SeasonState::Upcoming
    } else if now < applications_close_at {
        SeasonState::Accepting
    } else if now < ends_at {
        SeasonState::Running
    } else {
        SeasonState::Ended
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// 1 to 100 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 100, example = "warm-up")]
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Every field of a season that a person sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeasonSpec {
    pub code: String,
    pub name: String,
    pub timezone: String,
    pub applications_open_at: DateTime<Utc>,
    pub applications_close_at: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub phases: Vec<Phase>,
}

/// A season code: 2 to 40 of a-z, 0-9 and `-`.
pub fn valid_code(code: &str) -> bool {
    (2..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn valid_text(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    n >= 1 && n <= max && s.trim() == s && !s.chars().any(char::is_control)
}

/// SPEC §3: an application is submitted only while its season accepts applications
/// (422 `season_not_accepting`).
pub fn check_accepting(state: SeasonState) -> Result<(), Rejection> {
    if state != SeasonState::Accepting {
        return Err(Rejection::unprocessable(
            Code::SeasonNotAccepting,
            "The season is not accepting applications now.",
        ));
    }
    Ok(())
}

/// SPEC §5: a change of the run window may not leave a campaign or whitelist entry of the
/// season outside it (409 `season_in_use`); `strands` is what the database found.
pub fn check_not_stranding(strands: bool) -> Result<(), Rejection> {
    if strands {
        return Err(Rejection::conflict(
            Code::SeasonInUse,
            "A campaign or whitelist entry of this season would lie outside its run window.",
        ));
    }
    Ok(())
}

impl SeasonSpec {
    /// Trims the free-text fields (not the code, an identifier), then checks every rule;
    /// lists every violation at once.
    pub fn parse(mut self) -> Result<Self, Rejection> {
        self.name = self.name.trim().to_owned();
        self.timezone = self.timezone.trim().to_owned();
        for p in &mut self.phases {
            p.name = p.name.trim().to_owned();
        }
        let mut errs = Errors::new();
        if !valid_code(&self.code) {
            errs.push(FieldError::new(
                "code",
                Code::InvalidCode,
                "A code has 2 to 40 characters from a-z, 0-9 and '-'.",
            ));
        }
        if !valid_text(&self.name, 200) {
            errs.push(FieldError::new(
                "name",
                Code::InvalidName,
                "A season's name has 1 to 200 characters.",
            ));
        }
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            errs.push(FieldError::new(
                "timezone",
                Code::InvalidTimezone,
                "Use an IANA time zone name such as Asia/Shanghai.",
            ));
        }
        for (field, t) in [
            ("applications_open_at", self.applications_open_at),
            ("applications_close_at", self.applications_close_at),
            ("starts_at", self.starts_at),
            ("ends_at", self.ends_at),
        ] {
            errs.take(super::time::check(field, t));
        }
        if self.applications_open_at >= self.applications_close_at {
            errs.push(FieldError::new(
                "applications_close_at",
                Code::OutOfOrder,
                "Applications close after they open.",
            ));
        }
        if self.applications_close_at > self.ends_at {
            errs.push(FieldError::new(
                "applications_close_at",
                Code::AfterSeasonEnd,
                "Applications close no later than the season ends.",
            ));
        }
        if self.starts_at >= self.ends_at {
            errs.push(FieldError::new(
                "ends_at",
                Code::OutOfOrder,
                "A season ends after it starts.",
            ));
        }
        let mut prev: Option<&Phase> = None;
        for (i, p) in self.phases.iter().enumerate() {
            let f = |name: &str| format!("phases[{i}].{name}");
            if !valid_text(&p.name, 100) {
                errs.push(FieldError::new(
                    f("name"),
                    Code::InvalidName,
                    "A phase's name has 1 to 100 characters.",
                ));
            }
            if p.starts_at >= p.ends_at {
                errs.push(FieldError::new(
                    f("ends_at"),
                    Code::OutOfOrder,
                    "A phase ends after it starts.",
                ));
            }
            if p.starts_at < self.starts_at || p.ends_at > self.ends_at {
                errs.push(FieldError::new(
                    f("starts_at"),
                    Code::OutsideSeason,
                    "A phase lies inside the season's run window.",
                ));
            }
            if let Some(q) = prev {
                if p.starts_at < q.starts_at {
                    errs.push(FieldError::new(
                        f("starts_at"),
                        Code::OutOfOrder,
                        "Phases are listed in order of their start.",
                    ));
                } else if p.starts_at < q.ends_at {
                    errs.push(FieldError::new(
                        f("starts_at"),
                        Code::Overlaps,
                        "A phase starts no earlier than the one before it ends.",
                    ));
                }
            }
            prev = Some(p);
        }
        errs.finish(self)
    }

    pub fn state_at(&self, now: DateTime<Utc>) -> SeasonState {
        state_at(
            self.applications_open_at,
            self.applications_close_at,
            self.ends_at,
            now,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 5, day, 0, 0, 0).unwrap()
    }

    fn phase(name: &str, a: u32, b: u32) -> Phase {
        Phase {
            name: name.into(),
            starts_at: t(a),
            ends_at: t(b),
        }
    }

    fn spec() -> SeasonSpec {
        SeasonSpec {
            code: "618-2027".into(),
            name: "618 2027".into(),
            timezone: DEFAULT_TIMEZONE.into(),
            applications_open_at: t(1),
            applications_close_at: t(10),
            starts_at: t(5),
            ends_at: t(20),
            phases: vec![phase("warm-up", 5, 10), phase("peak", 10, 20)],
        }
    }

    fn codes(s: SeasonSpec) -> Vec<(String, String)> {
        s.parse()
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| (e.field, e.code.as_str().to_owned()))
            .collect()
    }

    fn one(s: SeasonSpec, field: &str, code: &str) {
        assert_eq!(codes(s), vec![(field.to_owned(), code.to_owned())]);
    }

    #[test]
    fn valid_season_passes_and_is_trimmed() {
        let mut s = spec();
        s.name = "  618 ".into();
        assert_eq!(s.parse().unwrap().name, "618");
        let mut s = spec();
        s.phases.clear();
        s.applications_close_at = s.ends_at; // close == end is allowed
        assert!(s.parse().is_ok());
    }

    #[test]
    fn code_rule() {
        for ok in ["ab", "618-2027", &"a".repeat(40)] {
            let mut s = spec();
            s.code = ok.to_string();
            assert!(s.parse().is_ok(), "{ok}");
        }
        // An identifier: taken as sent, so whitespace around it is refused, as the
        // document's pattern says.
        for bad in [
            "a",
            "618_2027",
            "Double11",
            "双十一",
            &"a".repeat(41),
            "",
            " 618-x ",
        ] {
            let mut s = spec();
            s.code = bad.to_string();
            one(s, "code", "invalid_code");
        }
    }

    #[test]
    fn name_and_timezone_rules() {
        let mut s = spec();
        s.name = " ".into();
        one(s, "name", "invalid_name");
        let mut s = spec();
        s.name = "x".repeat(201);
        one(s, "name", "invalid_name");
        let mut s = spec();
        s.timezone = "Mars/Olympus".into();
        one(s, "timezone", "invalid_timezone");
        let mut s = spec();
        s.timezone = "Europe/Berlin".into();
        assert!(s.parse().is_ok());
    }

    #[test]
    fn window_rules() {
        let mut s = spec();
        s.applications_close_at = s.applications_open_at;
        one(s, "applications_close_at", "out_of_order");
        let mut s = spec();
        s.applications_close_at = t(21);
        one(s, "applications_close_at", "after_season_end");
        let mut s = spec();
        s.phases.clear();
        s.starts_at = s.ends_at;
        one(s, "ends_at", "out_of_order");
    }

    #[test]
    fn phase_rules() {
        let mut s = spec();
        s.phases[0].name = "".into();
        one(s, "phases[0].name", "invalid_name");
        let mut s = spec();
        s.phases[0].name = "x".repeat(101);
        one(s, "phases[0].name", "invalid_name");
        let mut s = spec();
        s.phases = vec![phase("a", 7, 7)];
        one(s, "phases[0].ends_at", "out_of_order");
        let mut s = spec();
        s.phases = vec![phase("a", 4, 8)];
        one(s, "phases[0].starts_at", "outside_season");
        let mut s = spec();
        s.phases = vec![phase("a", 6, 21)];
        one(s, "phases[0].starts_at", "outside_season");
        let mut s = spec();
        s.phases = vec![phase("a", 10, 20), phase("b", 5, 10)];
        one(s, "phases[1].starts_at", "out_of_order");
        let mut s = spec();
        s.phases = vec![phase("a", 5, 11), phase("b", 10, 20)];
        one(s, "phases[1].starts_at", "overlaps");
    }

    #[test]
    fn lists_every_violation() {
        let mut s = spec();
        s.code = "X".into();
        s.timezone = "nowhere".into();
        s.applications_close_at = t(1);
        s.phases = vec![phase("", 1, 2)];
        let c = codes(s);
        assert_eq!(c.len(), 5, "{c:?}");
    }

    #[test]
    fn state_boundaries() {
        let s = spec();
        let sec = chrono::Duration::seconds(1);
        assert_eq!(s.state_at(t(1) - sec), SeasonState::Upcoming);
        assert_eq!(s.state_at(t(1)), SeasonState::Accepting);
        assert_eq!(s.state_at(t(10) - sec), SeasonState::Accepting);
        assert_eq!(s.state_at(t(10)), SeasonState::Running);
        assert_eq!(s.state_at(t(20) - sec), SeasonState::Running);
        assert_eq!(s.state_at(t(20)), SeasonState::Ended);
        assert_eq!(SeasonState::Accepting.as_str(), "accepting");
    }

    #[test]
    fn accepting_and_stranding() {
        assert!(check_accepting(SeasonState::Accepting).is_ok());
        for st in [
            SeasonState::Upcoming,
            SeasonState::Running,
            SeasonState::Ended,
        ] {
            assert_eq!(
                check_accepting(st).unwrap_err().code,
                Code::SeasonNotAccepting
            );
        }
        assert!(check_not_stranding(false).is_ok());
        assert_eq!(
            check_not_stranding(true).unwrap_err().code,
            Code::SeasonInUse
        );
    }
}
