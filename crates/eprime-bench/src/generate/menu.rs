//! The Partnership Cooperation Menu: ten years of offerings (1,400 a year at M), and the
//! participants nominated to them.
//!
//! Each year is the demo's deterministic menu generator run for that year (so titles, areas,
//! providers and the rare / common / everywhere words of the search scenarios are realistic),
//! with the year in the code so every code stays unique, and each event's status as it stands
//! today. The participants' nominations, decisions, attendance and feedback then go through the
//! same store operations, and rules, as through the API (see [`super::participants`]).

use std::collections::HashMap;

use anyhow::Context;
use eprime_domain::menu::{Decision, NewNomination, NewOffering, OfferingCode, OfferingStatus};
use eprime_domain::{PartnerCode, Principal, Role, RoleBinding, Text, UserId};
use eprime_store::DynStore;
use futures::{StreamExt, TryStreamExt};
use time::{Date, Duration};

use super::participants::{Outcome, Planned};
use super::progress::Progress;

/// `count` offerings, year after year back from `today`, their codes marked with `series` and the
/// year (so two series never collide), each in the status it has on `today`.
pub fn years(count: usize, series: char, today: Date) -> anyhow::Result<Vec<NewOffering>> {
    let mut menu = Vec::with_capacity(count);
    let mut year = 0;
    while menu.len() < count {
        let around = today - Duration::days(365 * year);
        for mut offering in eprime_demo::menu::offerings(around)?.into_iter().take(count - menu.len()) {
            offering.code = OfferingCode::parse(&format!("{}-{series}{year}", offering.code))?;
            offering.status = status_on(&offering, today);
            menu.push(offering);
        }
        year += 1;
    }
    Ok(menu)
}

/// Where an event of an earlier menu year stands on `today`. The demo's generator gives each event
/// the status it has on the day the menu is made for, so a year ago half were still open: today
/// they are over, held, and mostly reported.
fn status_on(offering: &NewOffering, today: Date) -> OfferingStatus {
    let first = offering.sessions.iter().map(|s| s.starts_on).min().unwrap_or(offering.nomination_deadline);
    let last = offering.sessions.iter().map(|s| s.ends_on).max().unwrap_or(first);
    match offering.status {
        OfferingStatus::Cancelled => OfferingStatus::Cancelled,
        status if last < today => {
            if status == OfferingStatus::Held || last + Duration::days(30) >= today {
                OfferingStatus::Held
            } else {
                OfferingStatus::Reported
            }
        }
        _ if first <= today || offering.nomination_deadline < today => OfferingStatus::Closed,
        status => status,
    }
}

/// Writes the planned offerings (concurrently, each one's steps in order); returns how many
/// nominations were written.
pub async fn write(store: &DynStore, plans: Vec<Planned>, in_flight: usize, today: Date) -> anyhow::Result<usize> {
    let loader = principal("bench-loader", Role::NatoAdmin, None)?;
    // Each nation nominates through its mission, as the demo's Japan does: an officer without an
    // account, so the history is not news for any generated account's inbox.
    let mut officers = HashMap::new();
    for plan in &plans {
        for nomination in &plan.nominations {
            if !officers.contains_key(&nomination.nation) {
                let name = format!("{}.mission", nomination.nation.as_str().to_ascii_lowercase());
                let officer = principal(&name, Role::PartnerOfficer, Some(nomination.nation.clone()))?;
                officers.insert(nomination.nation.clone(), officer);
            }
        }
    }
    let what = if officers.is_empty() { "menu offerings" } else { "menu offerings and their participants" };
    let progress = &Progress::new(what, plans.len());
    let (loader, officers) = (&loader, &officers);
    futures::stream::iter(plans)
        .map(|plan| async move {
            let code = plan.offering.code.to_string();
            let written =
                write_one(store, loader, officers, plan, today).await.with_context(|| format!("offering {code}"))?;
            progress.tick();
            anyhow::Ok(written)
        })
        .buffer_unordered(in_flight)
        .try_fold(0, |total, written| async move { Ok(total + written) })
        .await
}

fn principal(username: &str, role: Role, partner: Option<PartnerCode>) -> anyhow::Result<Principal> {
    Ok(Principal {
        user_id: UserId::new(),
        username: username.to_owned(),
        binding: RoleBinding::new(role, partner, None).map_err(|e| anyhow::anyhow!("{e:?}"))?,
    })
}

/// One offering's life to today: stored as published while it takes nominations, decided on,
/// closed, held with attendance and feedback, and reported, as far as its status says.
async fn write_one(
    store: &DynStore,
    loader: &Principal,
    officers: &HashMap<PartnerCode, Principal>,
    plan: Planned,
    today: Date,
) -> anyhow::Result<usize> {
    let Planned { mut offering, nominations } = plan;
    let target = offering.status;
    if nominations.is_empty() {
        store.create_offering(loader, offering).await?;
        return Ok(0);
    }
    offering.status = OfferingStatus::Published;
    let nominated_on = (offering.nomination_deadline - Duration::days(10)).min(today);
    let offering = store.create_offering(loader, offering).await?;
    let mut written = Vec::with_capacity(nominations.len());
    for planned in nominations {
        let officer = &officers[&planned.nation];
        let new = NewNomination { offering: offering.id, nation: None, participant: planned.participant };
        let nomination = store.nominate(officer, new, nominated_on).await.context("nominating")?;
        written.push((nomination.id, officer, planned.outcome));
    }
    for &(id, officer, outcome) in &written {
        let (decider, decision) = match outcome {
            Outcome::Pending => continue,
            Outcome::Accepted { .. } => (loader, Decision::Accept),
            Outcome::Waitlisted => (loader, Decision::Waitlist),
            Outcome::Rejected => (loader, Decision::Reject { reason: "The course is full for this profile.".into() }),
            Outcome::Withdrawn => (officer, Decision::Withdraw { reason: Some("Operational commitments.".into()) }),
        };
        store.decide_nomination(decider, id, None, decision).await.context("deciding")?;
    }
    if target == OfferingStatus::Published {
        return Ok(written.len());
    }
    store.transition_offering(loader, offering.id, None, OfferingStatus::Closed, None).await?;
    if target == OfferingStatus::Closed {
        return Ok(written.len());
    }
    for &(id, _, outcome) in &written {
        if let Outcome::Accepted { attendance: Some(attendance), .. } = outcome {
            store.record_attendance(loader, id, attendance).await.context("recording attendance")?;
        }
    }
    store.transition_offering(loader, offering.id, None, OfferingStatus::Held, None).await?;
    for &(id, officer, outcome) in &written {
        if let Outcome::Accepted { feedback: Some(ratings), .. } = outcome {
            let comments = Text::parse("Relevant to our cooperation; well organised.")?;
            store.give_feedback(officer, id, ratings, comments).await.context("giving feedback")?;
        }
    }
    if target == OfferingStatus::Reported {
        let summary = Text::parse("Held as planned; objectives met.")?;
        store.file_report(loader, offering.id, None, summary, Text::default()).await?;
    }
    Ok(written.len())
}

#[cfg(test)]
mod tests {
    use eprime_domain::menu::OfferingStatus;
    use time::macros::date;

    use super::years;

    #[test]
    fn earlier_years_stand_as_they_do_today() {
        let today = date!(2026 - 12 - 06);
        let menu = years(4_200, 'Y', today).unwrap();
        assert_eq!(menu.len(), 4_200);
        for offering in &menu[1_400..] {
            let last = offering.sessions.iter().map(|s| s.ends_on).max().unwrap();
            assert!(last < today, "{}", offering.code);
            let status = offering.status;
            assert!(
                matches!(status, OfferingStatus::Held | OfferingStatus::Reported | OfferingStatus::Cancelled),
                "{} ended on {last} and is {status:?}",
                offering.code
            );
        }
        let open = menu[..1_400].iter().filter(|o| o.status == OfferingStatus::Published).count();
        assert!(open > 100, "this year's menu still has open events ({open})");
        let codes: std::collections::HashSet<_> = menu.iter().map(|o| o.code.to_string()).collect();
        assert_eq!(codes.len(), menu.len(), "every code is unique");
    }
}
