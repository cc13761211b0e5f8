//! Overdue feedback and after-action reports, recorded once each so the notifier tells those who
//! owe them (see the SQLite store's module of the same name). Several instances may sweep at
//! once: the notice's primary key is inserted first, so a second sweeper of the same item waits
//! for the first and then finds it announced.

use eprime_domain::menu::OverdueRules;
use eprime_domain::{NominationId, OfferingId, ReadScope};
use eprime_store::{EntityType, NewChangeEntry, Operation, StoreError};
use sqlx::{PgConnection, PgPool};
use time::{Date, Duration};
use uuid::Uuid;

use crate::changelog::append;
use crate::codec::{backend, db_error, now};
use crate::{nominations, offerings};

/// What is overdue: a nomination's feedback or an offering's report.
#[derive(Clone, Copy)]
enum Kind {
    Feedback,
    Report,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Feedback => "feedback",
            Self::Report => "report",
        }
    }
}

pub(crate) async fn record(pool: &PgPool, rules: &OverdueRules, today: Date, limit: u32) -> Result<usize, StoreError> {
    let limit = i64::from(limit.clamp(1, 1_000));
    // The last day an event may have ended on for its feedback or report to be overdue today.
    let ended_by = |days: u32| today - Duration::days(i64::from(days)) - Duration::days(1);
    let feedback: Vec<Uuid> = sqlx::query_scalar(
        "SELECT n.id FROM nominations n JOIN offerings o ON o.id = n.offering
         WHERE n.attendance = 'attended' AND n.feedback IS NULL AND o.last_day <= $1
           AND NOT EXISTS (SELECT 1 FROM overdue_notices x WHERE x.kind = 'feedback' AND x.record_id = n.id)
         ORDER BY n.id LIMIT $2",
    )
    .bind(ended_by(rules.feedback_days))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let reports: Vec<Uuid> = sqlx::query_scalar(
        "SELECT o.id FROM offerings o
         WHERE o.status IN ('published', 'closed', 'held') AND o.report IS NULL AND o.last_day <= $1
           AND NOT EXISTS (SELECT 1 FROM overdue_notices x WHERE x.kind = 'report' AND x.record_id = o.id)
         ORDER BY o.id LIMIT $2",
    )
    .bind(ended_by(rules.report_days))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let mut recorded = 0;
    let candidates =
        feedback.into_iter().map(|id| (Kind::Feedback, id)).chain(reports.into_iter().map(|id| (Kind::Report, id)));
    for (kind, id) in candidates.take(limit as usize) {
        let mut tx = pool.begin().await.map_err(db_error)?;
        if announce(&mut tx, rules, today, kind, id).await? {
            tx.commit().await.map_err(db_error)?;
            recorded += 1;
        }
    }
    Ok(recorded)
}

/// Records one item if it is overdue by the domain's rule and not yet announced; `false` (and,
/// once the caller's transaction is dropped, nothing written) otherwise.
async fn announce(
    tx: &mut PgConnection,
    rules: &OverdueRules,
    today: Date,
    kind: Kind,
    id: Uuid,
) -> Result<bool, StoreError> {
    // First the notice: another instance announcing the same item holds it until it commits, and
    // then this insert does nothing.
    let inserted = sqlx::query(
        "INSERT INTO overdue_notices (kind, record_id, noticed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(id)
    .bind(now())
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    let system = ReadScope::system();
    let (entity, partner, record) = match kind {
        Kind::Feedback => {
            let Some(offering) = offering_of(tx, id).await? else { return Ok(false) };
            // The offering's lock (which every nomination write takes) first, so the feedback
            // read is not one a concurrent write is about to change.
            if !offerings::lock(tx, &system, offering).await? {
                return Ok(false);
            }
            let Some(nomination) = nominations::fetch(&mut *tx, &system, NominationId(id)).await? else {
                return Ok(false);
            };
            let Some(offering) = offerings::fetch(&mut *tx, &system, offering).await? else { return Ok(false) };
            if !rules.feedback_overdue(&nomination, &offering, today) {
                return Ok(false);
            }
            let partner = Some(nomination.nation.to_string());
            (EntityType::Nomination, partner, serde_json::to_value(&nomination).map_err(backend)?)
        }
        Kind::Report => {
            if !offerings::lock(tx, &system, OfferingId(id)).await? {
                return Ok(false);
            }
            let Some(offering) = offerings::fetch(&mut *tx, &system, OfferingId(id)).await? else { return Ok(false) };
            if !rules.report_overdue(&offering, today) {
                return Ok(false);
            }
            (EntityType::Offering, None, serde_json::to_value(&offering).map_err(backend)?)
        }
    };
    let id = id.to_string();
    append(
        tx,
        NewChangeEntry {
            actor: None,
            entity,
            entity_id: id.as_str().into(),
            partner: partner.as_deref(),
            operation: Operation::Overdue,
            before: None::<&serde_json::Value>,
            after: Some(&record),
        },
    )
    .await?;
    Ok(true)
}

async fn offering_of(tx: &mut PgConnection, nomination: Uuid) -> Result<Option<OfferingId>, StoreError> {
    let offering: Option<Uuid> = sqlx::query_scalar("SELECT offering FROM nominations WHERE id = $1")
        .bind(nomination)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
    Ok(offering.map(OfferingId))
}
