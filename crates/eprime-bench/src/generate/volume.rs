//! Scales M and L: the demo, topped up with partners and Allies, then activities, accounts and
//! updates in volume, all from one seeded RNG so two runs generate the same content. (Record ids
//! are UUIDv7s the store makes, so they differ between runs; nothing depends on them.)

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use eprime_domain::{
    ActivityChanges, ActivityId, ActivityKind, ActivityStatus, AreaCode, DocumentKind, DocumentStatus, Edition,
    ElementId, ElementKind, Framework, Marking, NewActivity, NewDocument, NewElement, OrgCode, OrgKind, Organisation,
    PartnerCode, Principal, ReadScope, Role, RoleBinding, Text, Title, UserId,
};
use eprime_store::{DocumentFilter, DynStore, NewPartnership, NewUser};
use futures::{StreamExt, TryStreamExt};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Generated;
use super::progress::Progress;
use super::{menu, participants};
use crate::options::Scale;

/// Writes in flight at once. The SQLite store has one writer connection, so this only overlaps
/// the harness's and sqlx's work with the database's; PostgreSQL would take more.
pub(super) const IN_FLIGHT: usize = 16;

/// How much of everything a scale holds.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Volumes {
    pub partners: usize,
    pub allies: usize,
    pub activities: usize,
    pub users: usize,
    /// How many of the users are NATO staff: one in ten, up to this many. Headquarters' staff does
    /// not grow with the partners' and Allies' accounts, and every activity proposed is announced
    /// to every member of staff (`notify::Wanted::approvers`): with one in ten at L, 5,000 of them,
    /// the notifications alone (150 million) outgrew the disk.
    pub nato_staff: usize,
    /// The change log's length once updates are written.
    pub change_log: usize,
    /// Ten years of menu offerings.
    pub menu_offerings: usize,
    /// People nominated to menu events, the demo's included (see [`super::participants`]).
    pub menu_participants: usize,
}

impl Volumes {
    /// `None` for S, which is the demo as it is.
    pub fn of(scale: Scale) -> Option<Self> {
        let factor = match scale {
            Scale::S => return None,
            Scale::M => 1,
            Scale::L => 10,
        };
        // Partners and Allies are nations: their number does not grow with the data.
        Some(Self {
            partners: 40,
            allies: 32,
            activities: 100_000 * factor,
            users: 5_000 * factor,
            nato_staff: 500,
            change_log: 500_000 * factor,
            menu_offerings: 14_000 * factor,
            menu_participants: 50_000 * factor,
        })
    }
}

/// Partner nations beyond the demo's, in the order they are added (real ISO codes first).
const PARTNER_CODES: [&str; 40] = [
    "JPN", "KOR", "AUS", "NZL", "MNG", "AUT", "IRL", "CHE", "MLT", "ARM", "AZE", "GEO", "MDA", "UKR", "BIH", "SRB",
    "KAZ", "KGZ", "TJK", "TKM", "UZB", "DZA", "EGY", "ISR", "JOR", "MRT", "MAR", "TUN", "BHR", "KWT", "QAT", "ARE",
    "IRQ", "COL", "PAK", "AFG", "BLR", "CYP", "LBN", "SAU",
];

const ALLY_CODES: [&str; 32] = [
    "ALB", "BEL", "BGR", "CAN", "HRV", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "ISL", "ITA", "LVA",
    "LTU", "LUX", "MNE", "NLD", "MKD", "NOR", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE", "TUR", "GBR", "USA",
];

const TOPICS: [&str; 16] = [
    "cyber defence",
    "maritime security",
    "counter-terrorism",
    "women, peace and security",
    "crisis management",
    "science for peace",
    "interoperability",
    "defence education",
    "space security",
    "energy security",
    "civil preparedness",
    "arms control",
    "disaster response",
    "hybrid threats",
    "emerging technologies",
    "public diplomacy",
];

const PLACES: [&str; 10] =
    ["Brussels", "Tokyo", "Rome", "Oberammergau", "Riga", "Tallinn", "Norfolk", "Canberra", "Seoul", "Geneva"];

/// The loader the generator writes as: a NATO administrator, like the demo's.
fn loader() -> anyhow::Result<Principal> {
    Ok(Principal {
        user_id: UserId::new(),
        username: "bench-loader".to_owned(),
        binding: RoleBinding::new(Role::NatoAdmin, None, None).map_err(|e| anyhow::anyhow!("{e:?}"))?,
    })
}

fn title(raw: &str) -> anyhow::Result<Title> {
    Title::parse(raw).map_err(|e| anyhow::anyhow!("title `{raw}`: {e:?}"))
}

fn text(raw: &str) -> anyhow::Result<Text> {
    Text::parse(raw).map_err(|e| anyhow::anyhow!("text: {e:?}"))
}

fn org(raw: &str) -> anyhow::Result<OrgCode> {
    OrgCode::parse(raw).map_err(|e| anyhow::anyhow!("organisation `{raw}`: {e:?}"))
}

pub async fn generate(
    store: &DynStore,
    volumes: &Volumes,
    password_hash: &str,
    generated: &mut Generated,
) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(super::SEED);
    let loader = loader()?;
    let allies = top_up_organisations(store, &loader, volumes).await?;
    generated.allies = allies.len();
    let partners = top_up_partnerships(store, &loader, volumes).await?;
    generated.partnerships = partners.len();
    let goals = goals_by_partner(store, &partners).await?;
    // The demo's areas of cooperation (the store refuses an activity naming one it lacks).
    let areas: Vec<AreaCode> = store.list_areas().await?.into_iter().map(|a| a.code).collect();

    let started = Instant::now();
    let ids = write_activities(store, &loader, volumes, (&partners, &allies, &areas), &goals, &mut rng).await?;
    generated.activities += ids.len();
    generated.activities_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    generated.users += write_users(store, volumes, &partners, &allies, password_hash).await?;
    generated.users_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let today = time::OffsetDateTime::now_utc().date();
    let offerings = menu::years(volumes.menu_offerings, 'Y', today)?;
    let frameworks: Vec<(PartnerCode, Framework)> = store
        .list_partnerships(&ReadScope::system())
        .await?
        .into_iter()
        .filter(|p| partners.contains(&p.partner))
        .map(|p| (p.partner, p.framework))
        .collect();
    let wanted = volumes.menu_participants.saturating_sub(generated.participants);
    // Japan's quota on open events is left to the nominations scenario, which nominates as Japan.
    let plans = participants::plan(offerings, &frameworks, &partners[0], wanted, &mut rng);
    generated.menu_offerings += plans.len();
    generated.participants += menu::write(store, plans, IN_FLIGHT, today).await?;
    generated.menu_secs = started.elapsed().as_secs_f64();

    // Last, so that the change log, whatever the menu added, is as long as the scale asks.
    let started = Instant::now();
    generated.updates = write_updates(store, &loader, volumes, &ids, &mut rng).await?;
    generated.updates_secs = started.elapsed().as_secs_f64();
    Ok(())
}

/// Makes sure 40 partner nations and 32 Allies exist as organisations; returns the Allies.
async fn top_up_organisations(store: &DynStore, loader: &Principal, volumes: &Volumes) -> anyhow::Result<Vec<OrgCode>> {
    let existing = store.list_organisations().await?;
    let has = |code: &str| existing.iter().any(|o| o.code.as_str() == code);
    for code in PARTNER_CODES.iter().take(volumes.partners).filter(|c| !has(c)) {
        let organisation = Organisation {
            code: org(code)?,
            name: title(&format!("Partner nation {code}"))?,
            kind: OrgKind::Partner,
            country: None,
        };
        store.upsert_organisation(loader, &organisation).await?;
    }
    for code in ALLY_CODES.iter().take(volumes.allies).filter(|c| !has(c)) {
        let organisation = Organisation {
            code: org(code)?,
            name: title(&format!("Ally {code}"))?,
            kind: OrgKind::Ally,
            country: None,
        };
        store.upsert_organisation(loader, &organisation).await?;
    }
    ALLY_CODES.iter().take(volumes.allies).map(|c| org(c)).collect()
}

/// Creates the partnerships the demo lacks, each with an IPCP of twelve partnership goals.
async fn top_up_partnerships(
    store: &DynStore,
    loader: &Principal,
    volumes: &Volumes,
) -> anyhow::Result<Vec<PartnerCode>> {
    let existing = store.list_partnerships(&ReadScope::system()).await?;
    let mut partners = Vec::new();
    for code in PARTNER_CODES.iter().take(volumes.partners) {
        let partner = PartnerCode::parse(code).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if !existing.iter().any(|p| p.partner == partner) {
            store
                .create_partnership(
                    loader,
                    NewPartnership {
                        partner: partner.clone(),
                        name: title(&format!("Partner nation {code}"))?,
                        framework: Framework::PartnershipForPeace,
                        since: "2014".to_owned(),
                        summary: text(&format!("The partnership of NATO and {code} (generated for the benchmark)."))?,
                        marking: Marking::public(),
                    },
                )
                .await
                .with_context(|| format!("partnership {code}"))?;
            store.create_document(loader, ipcp(&partner)?).await.with_context(|| format!("IPCP of {code}"))?;
        }
        partners.push(partner);
    }
    Ok(partners)
}

fn ipcp(partner: &PartnerCode) -> anyhow::Result<NewDocument> {
    let elements = (1..=12)
        .map(|n| {
            Ok(NewElement {
                kind: ElementKind::PartnershipGoal,
                code: format!("PG{n:02}"),
                title: title(&format!("Goal {n}: {}", TOPICS[n % TOPICS.len()]))?,
                text: text(&format!("Improve {} together with NATO.", TOPICS[n % TOPICS.len()]))?,
                parent: None,
                source_line: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(NewDocument {
        partnership: partner.clone(),
        kind: DocumentKind::Ipcp,
        title: title(&format!("Individually Tailored Partnership Programme of {partner}"))?,
        edition: Edition::Restricted,
        status: DocumentStatus::Agreed,
        signed_on: None,
        signed_at: None,
        published_on: None,
        period_from: None,
        period_to: None,
        signatories: Vec::new(),
        approvals: Vec::new(),
        supersedes: None,
        source: None,
        notes: Text::default(),
        content_hash: None,
        marking: Marking::releasable_to([partner.as_org()]),
        elements,
    })
}

/// The goals and priority areas activities of each partner can support.
async fn goals_by_partner(
    store: &DynStore,
    partners: &[PartnerCode],
) -> anyhow::Result<HashMap<PartnerCode, Vec<ElementId>>> {
    let scope = ReadScope::system();
    let mut goals = HashMap::new();
    for partner in partners {
        let filter = DocumentFilter { partnership: Some(partner.clone()), kind: None };
        let mut ids = Vec::new();
        for document in store.list_documents(&scope, &filter).await? {
            if let Some(detail) = store.document(&scope, document.id).await? {
                ids.extend(
                    detail
                        .elements
                        .iter()
                        .filter(|e| matches!(e.kind, ElementKind::PartnershipGoal | ElementKind::PriorityArea))
                        .map(|e| e.id),
                );
            }
        }
        goals.insert(partner.clone(), ids);
    }
    Ok(goals)
}

/// One generated activity. Japan, the programme the system was built around, holds a tenth of
/// them; the others share the rest evenly.
fn activity(
    rng: &mut ChaCha8Rng,
    n: usize,
    (partners, allies, areas): (&[PartnerCode], &[OrgCode], &[AreaCode]),
    goals: &HashMap<PartnerCode, Vec<ElementId>>,
) -> anyhow::Result<NewActivity> {
    let partner = if rng.random_ratio(1, 10) { &partners[0] } else { partners.choose(rng).unwrap_or(&partners[0]) };
    let kind = *ActivityKind::ALL.choose(rng).unwrap_or(&ActivityKind::Other);
    let topic = TOPICS.choose(rng).copied().unwrap_or("cooperation");
    let year = rng.random_range(2016..=2026);
    let start = time::Date::from_ordinal_date(year, rng.random_range(1..=360)).context("start date")?;
    let end = start + time::Duration::days(rng.random_range(0..=14));
    // Past activities are mostly completed; future ones are still being planned.
    let status = if year < 2026 {
        *[ActivityStatus::Completed, ActivityStatus::Completed, ActivityStatus::Completed, ActivityStatus::Cancelled]
            .choose(rng)
            .unwrap_or(&ActivityStatus::Completed)
    } else {
        *[ActivityStatus::Proposed, ActivityStatus::Approved, ActivityStatus::Scheduled]
            .choose(rng)
            .unwrap_or(&ActivityStatus::Proposed)
    };
    let participants: Vec<OrgCode> = {
        let count = rng.random_range(0..=3);
        let mut chosen: Vec<OrgCode> = allies.choose_multiple(rng, count).cloned().collect();
        chosen.sort();
        chosen
    };
    let supports = {
        let count = rng.random_range(0..=2);
        let mut chosen: Vec<ElementId> =
            goals.get(partner).map(|g| g.choose_multiple(rng, count).copied().collect()).unwrap_or_default();
        chosen.sort();
        chosen.dedup();
        chosen
    };
    let areas = {
        let count = rng.random_range(0..=2);
        let mut chosen: Vec<AreaCode> = areas.choose_multiple(rng, count).cloned().collect();
        chosen.sort();
        chosen
    };
    // Three in ten are public; the rest NATO UNCLASSIFIED, releasable to the partner (and
    // sometimes to the Allies), as the store insists.
    let marking = if rng.random_ratio(3, 10) {
        Marking::public()
    } else if rng.random_ratio(1, 3) {
        Marking::releasable_to([partner.as_org(), OrgCode::allies()])
    } else {
        Marking::releasable_to([partner.as_org()])
    };
    let place = PLACES.choose(rng).copied().unwrap_or("Brussels");
    Ok(NewActivity {
        partnership: partner.clone(),
        title: title(&format!("{} on {topic} no. {n}", kind_title(kind)))?,
        kind,
        description: text(&format!(
            "A {} on {topic} held in {place} with {} participating Allies, generated for the benchmark.",
            kind.as_str(),
            participants.len()
        ))?,
        starts_on: Some(start),
        ends_on: Some(end),
        location: Some(place.to_owned()),
        lead: participants.first().cloned(),
        participants,
        supports,
        areas,
        outcome: Text::default(),
        source: None,
        offering: None,
        marking,
        status,
        status_reason: status.needs_reason().then(|| "Generated: overtaken by events.".to_owned()),
    })
}

fn kind_title(kind: ActivityKind) -> String {
    let raw = kind.as_str().replace('_', " ");
    let mut chars = raw.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

async fn write_activities(
    store: &DynStore,
    loader: &Principal,
    volumes: &Volumes,
    (partners, allies, areas): (&[PartnerCode], &[OrgCode], &[AreaCode]),
    goals: &HashMap<PartnerCode, Vec<ElementId>>,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Vec<ActivityId>> {
    // Drawn in order from the RNG (so the content is the same every time), written concurrently.
    let news = (0..volumes.activities)
        .map(|n| activity(rng, n, (partners, allies, areas), goals))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let total = news.len();
    let progress = &Progress::new("activities", total);
    futures::stream::iter(news)
        .map(|new| async {
            let created = store.create_activity(loader, new).await.context("creating an activity")?;
            progress.tick();
            anyhow::Ok(created.id)
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
}

async fn write_users(
    store: &DynStore,
    volumes: &Volumes,
    partners: &[PartnerCode],
    allies: &[OrgCode],
    password_hash: &str,
) -> anyhow::Result<usize> {
    let progress = &Progress::new("users", volumes.users);
    let users = (0..volumes.users).map(|n| (n, binding_of(n, volumes, partners, allies)));
    futures::stream::iter(users)
        .map(|(n, binding)| async move {
            let binding = binding.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            store
                .create_user(
                    None,
                    NewUser {
                        username: bench_username(n),
                        display_name: format!("Benchmark user {n}"),
                        binding,
                        password_hash: password_hash.to_owned(),
                    },
                )
                .await
                .context("creating an account")?;
            progress.tick();
            anyhow::Ok(())
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await
        .map(|done| done.len())
}

/// The role of the `n`th generated account: six in ten partner officers, three in ten Ally
/// officers, one in ten NATO staff up to `volumes.nato_staff` (partner officers after that).
fn binding_of(
    n: usize,
    volumes: &Volumes,
    partners: &[PartnerCode],
    allies: &[OrgCode],
) -> Result<RoleBinding, eprime_domain::FieldError> {
    match n % 10 {
        6..=8 => RoleBinding::new(Role::AllyOfficer, None, Some(allies[n % allies.len()].clone())),
        9 if n / 10 < volumes.nato_staff => RoleBinding::new(Role::NatoStaff, None, None),
        _ => RoleBinding::new(Role::PartnerOfficer, Some(partners[n % partners.len()].clone()), None),
    }
}

/// The name of the `n`th generated account.
pub fn bench_username(n: usize) -> String {
    format!("bench.user{n:05}")
}

/// Updates activities in rounds (each activity once per round, so no two writes in flight touch
/// the same one) until the change log is as long as the scale asks.
async fn write_updates(
    store: &DynStore,
    loader: &Principal,
    volumes: &Volumes,
    ids: &[ActivityId],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<usize> {
    let have = usize::try_from(store.last_change_seq().await?).unwrap_or(0);
    let wanted = volumes.change_log.saturating_sub(have);
    if ids.is_empty() || wanted == 0 {
        return Ok(0);
    }
    let changes = (0..wanted)
        .map(|n| {
            let id = ids[n % ids.len()];
            let change = match rng.random_range(0..3) {
                0 => ActivityChanges {
                    location: Some(Some(PLACES.choose(rng).unwrap_or(&"Mons").to_string())),
                    ..Default::default()
                },
                1 => ActivityChanges {
                    outcome: Some(text(&format!("Outcome recorded, revision {n}."))?),
                    ..Default::default()
                },
                _ => ActivityChanges {
                    description: Some(text(&format!("Revised description, revision {n}."))?),
                    ..Default::default()
                },
            };
            anyhow::Ok((id, change))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let progress = &Progress::new("updates", wanted);
    futures::stream::iter(changes)
        .map(|(id, change)| async move {
            store.update_activity(loader, id, None, change).await.context("updating an activity")?;
            progress.tick();
            anyhow::Ok(())
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await
        .map(|done| done.len())
}

#[cfg(test)]
mod tests {
    use eprime_domain::{OrgCode, PartnerCode, Role};

    use super::{Volumes, binding_of};
    use crate::options::Scale;

    fn roles(scale: Scale) -> [usize; 3] {
        let volumes = Volumes::of(scale).unwrap();
        let partners: Vec<_> = ["JPN", "KOR"].into_iter().map(|c| PartnerCode::parse(c).unwrap()).collect();
        let allies: Vec<_> = ["FRA", "USA"].into_iter().map(|c| OrgCode::parse(c).unwrap()).collect();
        let mut counts = [0; 3];
        for n in 0..volumes.users {
            let role = binding_of(n, &volumes, &partners, &allies).unwrap().role;
            counts[match role {
                Role::PartnerOfficer => 0,
                Role::AllyOfficer => 1,
                Role::NatoStaff => 2,
                other => panic!("unexpected role {other:?}"),
            }] += 1;
        }
        counts
    }

    #[test]
    fn staff_is_one_in_ten_at_m_and_does_not_grow_at_l() {
        assert_eq!(roles(Scale::M), [3_000, 1_500, 500]);
        assert_eq!(roles(Scale::L), [34_500, 15_000, 500]);
    }
}
