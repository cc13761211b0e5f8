//! Overdue feedback and after-action reports, recorded once each so the notifier tells those who
//! owe them. Which items are overdue is the domain's rule (`OverdueRules`); the queries here
//! only narrow the candidates to those past the due date and not yet announced.

use eprime_domain::menu::OverdueRules;
use eprime_domain::{NominationId, OfferingId, ReadScope};
use eprime_store::{EntityType, NewChangeEntry, Operation, StoreError};
use sqlx::SqliteConnection;
use time::{Date, Duration};

use crate::SqliteStore;
use crate::changelog::append;
use crate::codec::{date_text, db_error, instant_text, now};
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

pub(crate) async fn record(
    store: &SqliteStore,
    rules: &OverdueRules,
    today: Date,
    limit: u32,
) -> Result<usize, StoreError> {
    let limit = i64::from(limit.clamp(1, 1_000));
    // The last day an event may have ended on for its feedback or report to be overdue today.
    let ended_by = |days: u32| date_text(Some(today - Duration::days(i64::from(days)) - Duration::days(1)));
    let feedback: Vec<String> = sqlx::query_scalar(
        "SELECT n.id FROM nominations n JOIN offerings o ON o.id = n.offering
         WHERE n.attendance = 'attended' AND n.feedback IS NULL AND o.last_day <= ?1
           AND NOT EXISTS (SELECT 1 FROM overdue_notices x WHERE x.kind = 'feedback' AND x.record_id = n.id)
         ORDER BY n.id LIMIT ?2",
    )
    .bind(ended_by(rules.feedback_days))
    .bind(limit)
    .fetch_all(&store.reader)
    .await
    .map_err(db_error)?;
    let reports: Vec<String> = sqlx::query_scalar(
        "SELECT o.id FROM offerings o
         WHERE o.status IN ('published', 'closed', 'held') AND o.report IS NULL AND o.last_day <= ?1
           AND NOT EXISTS (SELECT 1 FROM overdue_notices x WHERE x.kind = 'report' AND x.record_id = o.id)
         ORDER BY o.id LIMIT ?2",
    )
    .bind(ended_by(rules.report_days))
    .bind(limit)
    .fetch_all(&store.reader)
    .await
    .map_err(db_error)?;
    let mut recorded = 0;
    let candidates =
        feedback.into_iter().map(|id| (Kind::Feedback, id)).chain(reports.into_iter().map(|id| (Kind::Report, id)));
    for (kind, id) in candidates.take(limit as usize) {
        // One transaction per item: the single writer serialises sweeps, and the notice's primary
        // key makes a second announcement impossible.
        let mut tx = store.writer.begin().await?;
        if announce(&mut tx, rules, today, kind, &id).await? {
            tx.commit().await?;
            recorded += 1;
        }
    }
    Ok(recorded)
}

/// Records one item if it is overdue by the domain's rule and not yet announced; `false` (and
/// nothing written) otherwise.
async fn announce(
    tx: &mut SqliteConnection,
    rules: &OverdueRules,
    today: Date,
    kind: Kind,
    id: &str,
) -> Result<bool, StoreError> {
    let system = ReadScope::system();
    let (entity, partner, record) = match kind {
        Kind::Feedback => {
            let Ok(id) = id.parse::<NominationId>() else { return Ok(false) };
            let Some(nomination) = nominations::fetch(&mut *tx, &system, id).await? else { return Ok(false) };
            let Some(offering) = offerings::fetch(&mut *tx, &system, nomination.offering).await? else {
                return Ok(false);
            };
            if !rules.feedback_overdue(&nomination, &offering, today) {
                return Ok(false);
            }
            let partner = Some(nomination.nation.to_string());
            (EntityType::Nomination, partner, serde_json::to_value(&nomination).map_err(crate::codec::backend)?)
        }
        Kind::Report => {
            let Ok(id) = id.parse::<OfferingId>() else { return Ok(false) };
            let Some(offering) = offerings::fetch(&mut *tx, &system, id).await? else { return Ok(false) };
            if !rules.report_overdue(&offering, today) {
                return Ok(false);
            }
            (EntityType::Offering, None, serde_json::to_value(&offering).map_err(crate::codec::backend)?)
        }
    };
    let inserted =
        sqlx::query("INSERT OR IGNORE INTO overdue_notices (kind, record_id, noticed_at) VALUES (?1, ?2, ?3)")
            .bind(kind.as_str())
            .bind(id.to_owned())
            .bind(instant_text(now()))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    let entry = NewChangeEntry {
        actor: None,
        entity,
        entity_id: id.into(),
        partner: partner.as_deref(),
        operation: Operation::Overdue,
        before: None::<&serde_json::Value>,
        after: Some(&record),
    };
    append(tx, entry).await?;
    Ok(true)
}
