//! Who takes part in the generated menu's events: the participants the issue names (50,000 at M).
//!
//! The plan is made before anything is written, as a pure function of the offerings and the seed,
//! so the data is the same every time however the writes interleave. It keeps to the rules the
//! store enforces when the plan is written through it (eligibility, the nation's quota, seats,
//! prerequisites, one open nomination per person and event), and to where each event stands today:
//! nominations to open events wait for decisions, those to held events have attendance and feedback.

use eprime_domain::Framework;
use eprime_domain::PartnerCode;
use eprime_domain::menu::{Attendance, NewOffering, OfferingStatus, Participant, Ratings};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

/// One offering of the generated menu and the nominations made to it.
#[derive(Clone, Debug)]
pub struct Planned {
    /// Its status is where the event stands today.
    pub offering: NewOffering,
    pub nominations: Vec<PlannedNomination>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedNomination {
    pub nation: PartnerCode,
    pub participant: Participant,
    pub outcome: Outcome,
}

/// What became of a nomination by today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still waiting for the provider's decision (open events only).
    Pending,
    Waitlisted,
    Rejected,
    /// Withdrawn by the nominating nation.
    Withdrawn,
    /// Accepted; at a held event also marked attended or absent, and rated when the participant
    /// gave feedback.
    Accepted {
        attendance: Option<Attendance>,
        feedback: Option<Ratings>,
    },
}

/// Whether an event in this state has taken nominations: published ones are open for them, and
/// closed, held and reported ones were. Events still in the approval pipeline, and cancelled ones,
/// have none.
pub fn takes_nominations(status: OfferingStatus) -> bool {
    matches!(
        status,
        OfferingStatus::Published | OfferingStatus::Closed | OfferingStatus::Held | OfferingStatus::Reported
    )
}

/// Spreads `count` participants over `offerings`, in proportion to their seats, among the nations
/// each event admits. `keep_open_for` nominates to no event still open: its quota there is what the
/// nominations scenario contends for. Fewer than `count` only if the events cannot hold them all.
pub fn plan(
    offerings: Vec<NewOffering>,
    partners: &[(PartnerCode, Framework)],
    keep_open_for: &PartnerCode,
    count: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Planned> {
    let total_seats: u64 =
        offerings.iter().filter(|o| takes_nominations(o.status)).map(|o| u64::from(o.seats)).sum::<u64>().max(1);
    // A nation's officers are a pool of people who go to several events over the years.
    let pool = (count / partners.len().max(1) / 4).max(8);
    let mut seats_so_far = 0u64;
    let mut allotted_so_far = 0usize;
    let mut carried = 0usize;
    offerings
        .into_iter()
        .map(|offering| {
            if !takes_nominations(offering.status) {
                return Planned { offering, nominations: Vec::new() };
            }
            // The share of the running total of seats, so the shares add up to exactly `count`.
            seats_so_far += u64::from(offering.seats);
            let due = usize::try_from(seats_so_far * count as u64 / total_seats).unwrap_or(count);
            let wanted = due - allotted_so_far + carried;
            allotted_so_far = due;
            let nominations = nominate(&offering, partners, keep_open_for, wanted, pool, rng);
            carried = wanted - nominations.len();
            Planned { offering, nominations }
        })
        .collect()
}

/// Up to `wanted` nominations to one event.
fn nominate(
    offering: &NewOffering,
    partners: &[(PartnerCode, Framework)],
    keep_open_for: &PartnerCode,
    wanted: usize,
    pool: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<PlannedNomination> {
    let open = offering.status == OfferingStatus::Published;
    let quota = offering.nation_quota as usize;
    let mut eligible: Vec<(&PartnerCode, usize)> = partners
        .iter()
        .filter(|(nation, framework)| offering.eligibility.admits(nation, Some(*framework)))
        .filter(|(nation, _)| !(open && nation == keep_open_for))
        .map(|(nation, _)| (nation, 0))
        .collect();
    let wanted = wanted.min(offering.seats as usize).min(eligible.len() * quota);
    let mut nominations: Vec<PlannedNomination> = Vec::with_capacity(wanted);
    while nominations.len() < wanted {
        let with_quota: Vec<usize> = (0..eligible.len()).filter(|&i| eligible[i].1 < quota).collect();
        let Some(&chosen) = with_quota.choose(rng) else { break };
        let (nation, used) = &mut eligible[chosen];
        *used += 1;
        let nation = (*nation).clone();
        // Someone of the nation's pool not already nominated to this event (a nation sends at most
        // `quota` people, fewer than the pool, so the walk ends).
        let mut person = rng.random_range(0..pool);
        while nominations.iter().any(|n| n.nation == nation && n.participant.email == email(&nation, person)) {
            person = (person + 1) % pool;
        }
        let participant = participant(offering, &nation, person, rng);
        let outcome = outcome(offering.status, rng);
        nominations.push(PlannedNomination { nation, participant, outcome });
    }
    nominations
}

fn email(nation: &PartnerCode, person: usize) -> String {
    format!("officer{person:05}@mod.{}.example", nation.as_str().to_ascii_lowercase())
}

/// A member of the nation's pool, qualified for the event (the store refuses anyone else).
fn participant(offering: &NewOffering, nation: &PartnerCode, person: usize, rng: &mut ChaCha8Rng) -> Participant {
    const RANKS: [&str; 8] = ["Maj", "Lt Col", "Col", "Cdr", "Capt", "Lt Cdr", "Mr", "Ms"];
    let required = &offering.prerequisites;
    Participant {
        name: format!("Officer {person} of {nation}"),
        rank: RANKS[person % RANKS.len()].to_owned(),
        organisation: format!("Ministry of Defence of {nation}"),
        email: email(nation, person),
        clearance: required.clearance,
        language_level: rng.random_range(required.language_level.min(5)..=5),
    }
}

/// Where a nomination stands today, by where its event stands.
fn outcome(status: OfferingStatus, rng: &mut ChaCha8Rng) -> Outcome {
    let roll = rng.random_range(0..100);
    if status == OfferingStatus::Published {
        return match roll {
            0..50 => Outcome::Pending,
            50..85 => Outcome::Accepted { attendance: None, feedback: None },
            85..95 => Outcome::Waitlisted,
            _ => Outcome::Withdrawn,
        };
    }
    match roll {
        0..8 => Outcome::Waitlisted,
        8..15 => Outcome::Rejected,
        15..20 => Outcome::Withdrawn,
        _ if !matches!(status, OfferingStatus::Held | OfferingStatus::Reported) => {
            Outcome::Accepted { attendance: None, feedback: None }
        }
        _ if rng.random_ratio(7, 100) => Outcome::Accepted { attendance: Some(Attendance::Absent), feedback: None },
        // Most who attended rated the event; the rest owe their feedback (overdue, and announced).
        _ => {
            let feedback = rng.random_ratio(85, 100).then(|| Ratings {
                overall: rng.random_range(3..=5),
                content: rng.random_range(3..=5),
                organisation: rng.random_range(2..=5),
                relevance: rng.random_range(3..=5),
            });
            Outcome::Accepted { attendance: Some(Attendance::Attended), feedback }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use eprime_domain::menu::{Attendance, OfferingStatus};
    use eprime_domain::{Framework, PartnerCode};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::{Outcome, Planned, plan, takes_nominations};

    fn partners() -> Vec<(PartnerCode, Framework)> {
        let mut partners = vec![
            (PartnerCode::parse("JPN").unwrap(), Framework::PartnersAcrossTheGlobe),
            (PartnerCode::parse("AUS").unwrap(), Framework::PartnersAcrossTheGlobe),
            (PartnerCode::parse("EGY").unwrap(), Framework::MediterraneanDialogue),
            (PartnerCode::parse("QAT").unwrap(), Framework::IstanbulCooperationInitiative),
        ];
        for code in ["AUT", "CHE", "IRL", "GEO", "UKR", "ARM"] {
            partners.push((PartnerCode::parse(code).unwrap(), Framework::PartnershipForPeace));
        }
        partners
    }

    fn planned(count: usize, seed: u64) -> Vec<Planned> {
        let today = time::macros::date!(2026 - 12 - 06);
        let offerings = crate::generate::menu::years(4_200, 'Y', today).unwrap();
        let jpn = PartnerCode::parse("JPN").unwrap();
        plan(offerings, &partners(), &jpn, count, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    #[test]
    fn every_participant_is_planned_within_the_rules_the_store_enforces() {
        let partners = partners();
        let frameworks: HashMap<_, _> = partners.iter().cloned().collect();
        let plans = planned(15_000, 7);
        let total: usize = plans.iter().map(|p| p.nominations.len()).sum();
        assert_eq!(total, 15_000);
        for Planned { offering, nominations } in &plans {
            if !takes_nominations(offering.status) {
                assert!(nominations.is_empty(), "{} is {:?}", offering.code, offering.status);
                continue;
            }
            assert!(nominations.len() <= offering.seats as usize);
            let mut per_nation: HashMap<&PartnerCode, u32> = HashMap::new();
            let mut people = HashSet::new();
            for n in nominations {
                assert!(offering.eligibility.admits(&n.nation, Some(frameworks[&n.nation])), "{}", n.nation);
                *per_nation.entry(&n.nation).or_default() += 1;
                assert!(people.insert(&n.participant.email), "{} twice on {}", n.participant.email, offering.code);
                assert!(n.participant.clearance >= offering.prerequisites.clearance);
                assert!(n.participant.language_level >= offering.prerequisites.language_level);
                let held = matches!(offering.status, OfferingStatus::Held | OfferingStatus::Reported);
                match n.outcome {
                    Outcome::Pending => assert_eq!(offering.status, OfferingStatus::Published),
                    Outcome::Accepted { attendance, feedback } => {
                        assert_eq!(attendance.is_some(), held);
                        assert!(feedback.is_none() || attendance == Some(Attendance::Attended));
                    }
                    _ => {}
                }
                if offering.status == OfferingStatus::Published {
                    assert_ne!(n.nation.as_str(), "JPN", "Japan's quota on open events is kept for the scenario");
                }
            }
            assert!(per_nation.values().all(|&used| used <= offering.nation_quota), "{}", offering.code);
        }
        let outcomes = plans.iter().flat_map(|p| &p.nominations).map(|n| std::mem::discriminant(&n.outcome));
        assert_eq!(outcomes.collect::<HashSet<_>>().len(), 5, "every outcome occurs");
    }

    #[test]
    fn the_plan_is_the_same_for_the_same_seed() {
        let digest = |plans: &[Planned]| format!("{:?}", plans.iter().map(|p| &p.nominations).collect::<Vec<_>>());
        assert_eq!(digest(&planned(2_000, 1)), digest(&planned(2_000, 1)));
        assert_ne!(digest(&planned(2_000, 1)), digest(&planned(2_000, 2)));
    }

    #[test]
    fn more_participants_than_the_events_hold_are_left_out_not_squeezed_in() {
        let plans = planned(10_000_000, 3);
        for Planned { offering, nominations } in &plans {
            assert!(nominations.len() <= offering.seats as usize);
        }
        let total: usize = plans.iter().map(|p| p.nominations.len()).sum();
        assert!(total < 10_000_000);
    }
}
