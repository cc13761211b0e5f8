//! The demo's Partnership Cooperation Menu: about 1,400 offerings for the twelve months around
//! the day it is loaded (half behind, half ahead, so there is history and an open menu on any
//! day of the year) across the areas of cooperation, from the real providers in `organisations.toml`, generated deterministically
//! (the same year and "today" give the same menu), and Japan's nominations, attendance and
//! feedback on some of them.
//!
//! The offerings are illustrative: titles are built from each area's real subjects, the
//! providers and their seats are real, but no particular course is claimed to exist.

use eprime_domain::menu::{
    Attendance, Clearance, Contact, Decision, Eligibility, EventType, NewNomination, NewOffering, OfferingCode,
    OfferingStatus, Participant, Prerequisites, Ratings, Session,
};
use eprime_domain::{AreaCode, Framework, OrgCode, PartnerCode, Principal, Role, RoleBinding, Text, Title, UserId};
use eprime_store::Store;
use time::{Date, Duration};

use crate::{DemoError, data_error};

/// How many offerings the demo menu holds.
pub const OFFERINGS: usize = 1_400;

/// Subjects per area of cooperation, from which titles are built.
const SUBJECTS: &[(&str, &[&str])] = &[
    ("ACD", &["Arms Control", "Non-Proliferation", "Verification Techniques", "Small Arms and Light Weapons"]),
    ("ARM", &["Armaments Cooperation", "Defence Procurement", "Life Cycle Management"]),
    ("ASM", &["Air Space Management", "Civil-Military Air Traffic", "Air Policing"]),
    ("BSC", &["Border Security", "Maritime Border Surveillance", "Counter-Smuggling"]),
    ("C3", &["Consultation, Command and Control", "Tactical Data Links", "Federated Mission Networking"]),
    ("CCMS", &["Crisis Management", "Crisis Response Planning", "Strategic Decision-Making in Crises"]),
    ("CEP", &["Civil Emergency Planning", "Resilience", "Critical Infrastructure Protection"]),
    ("CRM", &["Crisis Response Operations", "Peace Support Operations", "Stabilisation"]),
    ("DEI", &["Defence Institution Building", "Building Integrity", "Defence Governance"]),
    ("DPB", &["Defence Planning", "Capability Development", "Defence Budgeting"]),
    ("DPS", &["Defence Policy and Strategy", "Security Policy", "Strategic Foresight"]),
    ("GEO", &["Military Geography", "Geospatial Intelligence", "Meteorology and Oceanography"]),
    ("LT", &["Language Training", "Operational English", "Terminology Management"]),
    ("CYD", &["Cyber Defence", "Incident Handling", "Cyber Threat Intelligence", "Secure Networks"]),
    ("CT", &["Counter-Terrorism", "Countering Improvised Explosive Devices", "Terrorist Financing"]),
    ("MS", &["Maritime Security", "Maritime Situational Awareness", "Harbour Protection"]),
    ("PD", &["Public Diplomacy", "Strategic Communications", "Countering Disinformation"]),
    ("SPS", &["Science for Peace and Security", "Scientific Cooperation", "Environmental Security"]),
    ("WPS", &["Women, Peace and Security", "Gender Perspectives in Operations", "Protection of Civilians"]),
    ("EDT", &["Emerging and Disruptive Technologies", "Artificial Intelligence in Defence", "Autonomous Systems"]),
    ("SPC", &["Space Operations", "Space Situational Awareness", "Satellite Communications"]),
    ("CLS", &["Climate and Security", "Energy Efficiency in Operations", "Environmental Protection"]),
    ("RES", &["Research and Analysis", "Operational Analysis", "Lessons Learned"]),
];

/// Providers with where they teach and the areas they cover (`*` = any area).
const PROVIDERS: &[(&str, &str, &[&str])] = &[
    ("NDC", "Rome, ITA", &["DPS", "CCMS", "DEI", "DPB", "WPS", "EDT", "CLS", "RES"]),
    ("NSO", "Oberammergau, DEU", &["*"]),
    ("NCIA-ACAD", "Oeiras, PRT", &["C3", "CYD", "EDT", "SPC"]),
    ("CCDCOE", "Tallinn, EST", &["CYD", "EDT"]),
    ("CJOS-COE", "Norfolk, USA", &["MS", "BSC"]),
    ("STRATCOM-COE", "Riga, LVA", &["PD"]),
    ("CMDR-COE", "Sofia, BGR", &["CEP", "CCMS", "CRM"]),
    ("DAT-COE", "Ankara, TUR", &["CT", "BSC"]),
    ("ENSEC-COE", "Vilnius, LTU", &["CLS", "CEP"]),
    ("JCBRN-COE", "Vyskov, CZE", &["ACD", "CEP", "CT"]),
    ("MARSEC-COE", "Istanbul, TUR", &["MS"]),
    ("PFPTC", "Ankara, TUR", &["*"]),
    ("SWEDINT", "Kungsangen, SWE", &["CRM", "WPS", "LT"]),
    ("FINCENT", "Tuusula, FIN", &["CRM", "WPS"]),
    ("BALTDEFCOL", "Tartu, EST", &["DPS", "DPB", "DEI"]),
    ("GCSP", "Geneva, CHE", &["DPS", "ACD", "SPS", "EDT"]),
];

/// Title patterns per event type.
const FORMATS: &[(EventType, &[&str])] = &[
    (EventType::Course, &["{} Course", "{} Orientation Course", "Advanced {} Course", "{} Staff Officers Course"]),
    (EventType::Seminar, &["{} Seminar", "{} Senior Leaders Seminar"]),
    (EventType::Workshop, &["{} Workshop", "{} Practitioners Workshop"]),
    (EventType::Conference, &["{} Conference", "Annual {} Conference"]),
    (EventType::Exercise, &["{} Table-Top Exercise", "{} Command Post Exercise"]),
    (EventType::ExpertVisit, &["{} Expert Visit"]),
    (EventType::MobileTrainingTeam, &["{} Mobile Training Team"]),
    (EventType::ELearning, &["{} e-Learning Module", "Introduction to {} (online)"]),
];

/// splitmix64: a tiny, stable generator, so the demo menu is the same on every machine and version.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The offerings of the menu year around `today`, their statuses as they stand on `today`.
pub fn offerings(today: Date) -> Result<Vec<NewOffering>, DemoError> {
    let fail = |e: eprime_domain::FieldError| data_error("menu", e);
    let mut sequence = Sequence(u64::from(today.to_julian_day().unsigned_abs()) * 1_000_003);
    let first_day = today - Duration::days(180);
    let mut menu = Vec::with_capacity(OFFERINGS);
    for n in 0..OFFERINGS {
        let (area, subjects) = *sequence.pick(SUBJECTS);
        let providers: Vec<_> =
            PROVIDERS.iter().filter(|(_, _, areas)| areas.contains(&"*") || areas.contains(&area)).collect();
        let (provider, place, _) = **sequence.pick(&providers);
        let (event_type, patterns) = *sequence.pick(FORMATS);
        let subject = *sequence.pick(subjects);
        let title = sequence.pick(patterns).replace("{}", subject);
        let start = first_day + Duration::days(sequence.below(365) as i64);
        let days = match event_type {
            EventType::Conference | EventType::ExpertVisit => 2,
            EventType::Seminar | EventType::Workshop => 3,
            EventType::ELearning => 28,
            _ => 5 + sequence.below(10) as i64,
        };
        let online = event_type == EventType::ELearning;
        let language = if sequence.below(10) == 0 && !online { "fr" } else { "en" };
        let mut sessions = vec![Session {
            starts_on: start,
            ends_on: start + Duration::days(days - 1),
            location: if online { "online".to_owned() } else { place.to_owned() },
            language: language.to_owned(),
        }];
        if event_type == EventType::Course && sequence.below(4) == 0 {
            let again = start + Duration::days(91);
            if again < first_day + Duration::days(365) {
                sessions.push(Session {
                    starts_on: again,
                    ends_on: again + Duration::days(days - 1),
                    ..sessions[0].clone()
                });
            }
        }
        let seats = *sequence.pick(&[12u32, 16, 20, 24, 30, 40, 60]);
        let eligibility = match sequence.below(10) {
            0 => Eligibility::Frameworks { frameworks: vec![Framework::PartnersAcrossTheGlobe] },
            1 => Eligibility::Frameworks {
                frameworks: vec![Framework::MediterraneanDialogue, Framework::IstanbulCooperationInitiative],
            },
            2 => Eligibility::Frameworks { frameworks: vec![Framework::PartnershipForPeace] },
            _ => Eligibility::AllPartners,
        };
        let clearance = if sequence.below(6) == 0 { Clearance::NatoRestricted } else { Clearance::None };
        let deadline = start - Duration::days(30 + sequence.below(30) as i64);
        let last = sessions.iter().map(|s| s.ends_on).max().unwrap_or(start);
        let status = status_on(&mut sequence, today, deadline, start, last);
        let code = format!("{area}-{provider}-{}-{:04}", start.year(), n + 1);
        menu.push(NewOffering {
            code: OfferingCode::parse(&code).map_err(fail)?,
            title: Title::parse(&title).map_err(fail)?,
            description: Text::parse(&format!(
                "{title}, offered by {provider} to partners under the {subject} area of cooperation. \
                 Participants share national experience and practise {} with NATO and partner colleagues.",
                subject.to_lowercase()
            ))
            .map_err(fail)?,
            areas: vec![AreaCode::parse(area).map_err(fail)?],
            event_type,
            provider: Some(OrgCode::parse(provider).map_err(fail)?),
            contact: Contact {
                name: format!("{provider} course office"),
                email: format!("courses@{}.example", provider.to_lowercase()),
            },
            sessions,
            seats,
            nation_quota: (seats / 8).max(2),
            eligibility,
            prerequisites: Prerequisites { clearance, language_level: if online { 2 } else { 3 } },
            nomination_deadline: deadline,
            fees: if sequence.below(5) == 0 { "EUR 300 tuition".to_owned() } else { "none".to_owned() },
            requested_releasable_to: vec![OrgCode::allies()],
            status,
        });
    }
    Ok(menu)
}

/// Where an event of these dates stands on `today`: over ones held or reported, open ones
/// published (a few still in the approval pipeline), a few cancelled.
fn status_on(sequence: &mut Sequence, today: Date, deadline: Date, start: Date, last: Date) -> OfferingStatus {
    let roll = sequence.below(100);
    if roll < 2 {
        return OfferingStatus::Cancelled;
    }
    if last < today {
        if last + Duration::days(30) < today && roll < 80 { OfferingStatus::Reported } else { OfferingStatus::Held }
    } else if start <= today || deadline < today {
        OfferingStatus::Closed
    } else if roll < 5 {
        OfferingStatus::Submitted
    } else if roll < 8 {
        OfferingStatus::Approved
    } else {
        OfferingStatus::Published
    }
}

const JAPANESE_NAMES: &[(&str, &str)] = &[
    ("Sato Hiroshi", "Lt Col"),
    ("Suzuki Yuki", "Maj"),
    ("Takahashi Kenji", "Cdr"),
    ("Tanaka Aiko", "Ms"),
    ("Watanabe Daisuke", "Capt"),
    ("Ito Naomi", "Lt Cdr"),
    ("Yamamoto Takeshi", "Col"),
    ("Nakamura Emi", "Mr"),
];

/// What [`load`] wrote.
pub struct Loaded {
    pub offerings: usize,
    pub nominations: usize,
}

/// Japan's part in the menu: nominations to events it is eligible for, the provider's
/// decisions, and for events already held, attendance, feedback and reports. Goes through the
/// same store operations (and rules) as the API; offerings are stored as `published` first and
/// moved on as their dates demand.
pub async fn load(store: &dyn Store, loader: &Principal, today: Date) -> Result<Loaded, DemoError> {
    let record = |what: String| move |source| DemoError::Record { what, source };
    let officer = Principal {
        user_id: UserId::new(),
        // The mission as a whole, not a demo account: the demo's history is not news for anyone's
        // inbox (notifications go to accounts concerned, and no demo account is).
        username: "jpn.mission".to_owned(),
        binding: RoleBinding::new(
            Role::PartnerOfficer,
            Some(PartnerCode::parse("JPN").map_err(|e| data_error("menu", e))?),
            None,
        )
        .map_err(|e| data_error("menu", e))?,
    };
    let mut count = 0;
    let mut nominated = 0;
    let mut chosen = 0;
    for (n, mut new) in offerings(today)?.into_iter().enumerate() {
        let target = new.status;
        let japanese = n % 29 == 0
            && target != OfferingStatus::Cancelled
            && matches!(new.eligibility, Eligibility::AllPartners)
            && new.prerequisites.clearance == Clearance::None
            // Not the demo provider account's own events, for the same reason.
            && new.provider.as_ref().is_none_or(|p| p.as_str() != "NDC")
            && chosen < 48;
        if !japanese {
            store.create_offering(loader, new).await.map_err(record(format!("menu offering {n}")))?;
            count += 1;
            continue;
        }
        chosen += 1;
        // Stored as it was while open, so Japan's nominations pass the same checks as through the API.
        new.status = OfferingStatus::Published;
        let deadline = new.nomination_deadline;
        let offering = store.create_offering(loader, new).await.map_err(record(format!("menu offering {n}")))?;
        count += 1;
        let nominated_on = deadline - Duration::days(10);
        let mut nominations = Vec::new();
        for k in 0..2 {
            let (name, rank) = JAPANESE_NAMES[(chosen * 2 + k) % JAPANESE_NAMES.len()];
            let participant = Participant {
                name: name.to_owned(),
                rank: rank.to_owned(),
                organisation: if k == 0 { "Japan Joint Staff" } else { "Ministry of Defense of Japan" }.to_owned(),
                email: format!("{}.{chosen}@mod.example.jp", name.split(' ').next().unwrap_or("x").to_lowercase()),
                clearance: Clearance::None,
                language_level: 3,
            };
            let new = NewNomination { offering: offering.id, nation: None, participant };
            let nomination =
                store.nominate(&officer, new, nominated_on).await.map_err(record(format!("nomination to {n}")))?;
            nominations.push(nomination);
            nominated += 1;
        }
        let is_open = target == OfferingStatus::Published;
        if is_open && chosen % 3 == 0 {
            continue; // still waiting for the provider's decision
        }
        store
            .decide_nomination(loader, nominations[0].id, None, Decision::Accept)
            .await
            .map_err(record(format!("decision on {n}")))?;
        let second = if chosen % 4 == 0 { Decision::Waitlist } else { Decision::Accept };
        store
            .decide_nomination(loader, nominations[1].id, None, second)
            .await
            .map_err(record(format!("decision on {n}")))?;
        if is_open {
            continue;
        }
        store
            .transition_offering(loader, offering.id, None, OfferingStatus::Closed, None)
            .await
            .map_err(record(format!("closing {n}")))?;
        if target == OfferingStatus::Closed {
            continue;
        }
        store
            .record_attendance(loader, nominations[0].id, Attendance::Attended)
            .await
            .map_err(record(format!("attendance at {n}")))?;
        store
            .transition_offering(loader, offering.id, None, OfferingStatus::Held, None)
            .await
            .map_err(record(format!("holding {n}")))?;
        if chosen % 2 == 0 {
            let ratings = Ratings { overall: 4 + (chosen % 2) as u8, content: 4, organisation: 5, relevance: 4 };
            let comments = Text::parse("Well organised; directly relevant to our cooperation with NATO.")
                .map_err(|e| data_error("menu", e))?;
            store
                .give_feedback(&officer, nominations[0].id, ratings, comments)
                .await
                .map_err(record(format!("feedback on {n}")))?;
        }
        if target == OfferingStatus::Reported {
            let summary = Text::parse("Held as planned; objectives met.").map_err(|e| data_error("menu", e))?;
            store
                .file_report(loader, offering.id, None, summary, Text::default())
                .await
                .map_err(record(format!("report on {n}")))?;
        }
    }
    Ok(Loaded { offerings: count, nominations: nominated })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_menu_is_deterministic_and_realistic() {
        let today = date!(2026 - 11 - 23);
        let first = offerings(today).unwrap();
        let again = offerings(today).unwrap();
        assert_eq!(first, again);
        assert_eq!(first.len(), OFFERINGS);
        let areas: std::collections::BTreeSet<_> = first.iter().flat_map(|o| o.areas.clone()).collect();
        assert_eq!(areas.len(), SUBJECTS.len(), "every area has events");
        let window = (today - Duration::days(180))..(today + Duration::days(185));
        assert!(first.iter().all(|o| o.sessions.iter().all(|s| window.contains(&s.starts_on))));
        assert!(first.iter().all(|o| o.nomination_deadline < o.sessions[0].starts_on));
        let published = first.iter().filter(|o| o.status == OfferingStatus::Published).count();
        let reported = first.iter().filter(|o| o.status == OfferingStatus::Reported).count();
        assert!(published > 300 && reported > 300, "published {published}, reported {reported}");
    }
}
