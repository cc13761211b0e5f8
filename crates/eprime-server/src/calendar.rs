//! Menu events and deadlines as iCalendar (RFC 5545): one all-day event per session, and one
//! for each deadline the reader must meet (nominations, feedback, the after-action report).
//! Pure: the handlers choose the offerings, this turns them into a calendar.

use eprime_domain::menu::{Offering, OfferingStatus, OverdueRules};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
use time::{Date, Duration};

/// What a feed shows of an offering besides its sessions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Deadlines {
    /// The nomination deadline, while nominations are open.
    pub nominations: bool,
    /// When feedback falls due after the event.
    pub feedback: bool,
    /// When the after-action report falls due (providers).
    pub report: bool,
}

fn naive(date: Date) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(date.year(), u32::from(u8::from(date.month())), u32::from(date.day()))
}

fn all_day(uid: String, summary: String, description: String, first: Date, last: Date) -> Option<Event> {
    // DTEND of an all-day event is exclusive: the day after the last one.
    let (starts, ends) = (naive(first)?, naive(last + Duration::days(1))?);
    Some(Event::new().uid(&uid).summary(&summary).description(&description).starts(starts).ends(ends).done())
}

/// The calendar entries of one offering.
pub fn events(offering: &Offering, deadlines: Deadlines, rules: &OverdueRules) -> Vec<Event> {
    let mut events = Vec::new();
    let about = format!("{} — {} ({})", offering.code, offering.title, offering.provider);
    for (n, session) in offering.sessions.iter().enumerate() {
        let Some(mut event) = all_day(
            format!("{}-session-{n}@e-prime", offering.id),
            offering.title.to_string(),
            format!("{about}\n{}", offering.description),
            session.starts_on,
            session.ends_on,
        ) else {
            continue;
        };
        event.location(&session.location);
        if offering.status == OfferingStatus::Cancelled {
            event.status(EventStatus::Cancelled);
        }
        events.push(event);
    }
    let last = offering.last_day();
    let mut deadline = |kind: &str, label: &str, day: Date| {
        if let Some(event) = all_day(
            format!("{}-{kind}@e-prime", offering.id),
            format!("{label}: {}", offering.title),
            about.clone(),
            day,
            day,
        ) {
            events.push(event);
        }
    };
    if deadlines.nominations && offering.status == OfferingStatus::Published {
        deadline("nominations", "Nomination deadline", offering.nomination_deadline);
    }
    if let Some(last) = last {
        if deadlines.feedback && matches!(offering.status, OfferingStatus::Closed | OfferingStatus::Held) {
            deadline("feedback", "Feedback due", last + Duration::days(rules.feedback_days.into()));
        }
        if deadlines.report && offering.report.is_none() && offering.status != OfferingStatus::Cancelled {
            deadline("report", "After-action report due", last + Duration::days(rules.report_days.into()));
        }
    }
    events
}

/// A whole calendar, as text.
pub fn calendar(name: &str, entries: impl IntoIterator<Item = Event>) -> String {
    let mut calendar = Calendar::new();
    calendar.name(name);
    for entry in entries {
        calendar.push(entry);
    }
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eprime_domain::menu::{Contact, Eligibility, EventType, OfferingCode, Prerequisites, Session};
    use eprime_domain::{Marking, OfferingId, OrgCode, Text, Title};
    use time::macros::date;

    fn offering() -> Offering {
        Offering {
            id: OfferingId::new(),
            code: OfferingCode::parse("CYD-NSO-2026-1").unwrap(),
            title: Title::parse("Cyber Defence Course, Level 1").unwrap(),
            description: Text::parse("Basics; with commas, and semicolons.").unwrap(),
            areas: vec![],
            event_type: EventType::Course,
            provider: OrgCode::parse("NSO").unwrap(),
            contact: Contact { name: "x".into(), email: "x@nso.example".into() },
            sessions: vec![Session {
                starts_on: date!(2026 - 05 - 04),
                ends_on: date!(2026 - 05 - 08),
                location: "Oberammergau, DEU".into(),
                language: "en".into(),
            }],
            seats: 10,
            nation_quota: 2,
            eligibility: Eligibility::AllPartners,
            prerequisites: Prerequisites::default(),
            nomination_deadline: date!(2026 - 04 - 01),
            fees: "none".into(),
            status: OfferingStatus::Published,
            status_reason: None,
            seats_taken: 0,
            waitlisted: 0,
            report: None,
            marking: Marking::default(),
            requested_releasable_to: vec![],
            version: 1,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn sessions_and_deadlines_are_all_day_events() {
        let deadlines = Deadlines { nominations: true, feedback: true, report: true };
        let text = calendar("Menu", events(&offering(), deadlines, &OverdueRules::default()));
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        assert!(text.contains("DTSTART;VALUE=DATE:20260504\r\n"), "{text}");
        assert!(text.contains("DTEND;VALUE=DATE:20260509\r\n"), "the end is exclusive: {text}");
        assert!(text.contains("SUMMARY:Nomination deadline: Cyber Defence Course\\, Level 1"), "escaped: {text}");
        assert!(text.contains("DTSTART;VALUE=DATE:20260401\r\n"));
        assert!(text.contains("After-action report due"));
        assert!(!text.contains("Feedback due"), "feedback falls due only after the event");
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 3);
    }
}
