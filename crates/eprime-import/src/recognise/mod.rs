//! Recognisers: each reads one kind of structure from the classified blocks.

mod clauses;
mod metadata;
mod programme;
mod structure;

use std::collections::HashSet;

use eprime_domain::DocumentKind;

use crate::classify::Block;
use crate::model::{ImportedDocument, Item, Warning};
use crate::{ImportError, ImportOptions};

/// Runs every recogniser over the blocks of one document.
pub fn recognise(blocks: &[Block], options: &ImportOptions) -> Result<ImportedDocument, ImportError> {
    let meta = metadata::read(blocks, options)?;
    let mut doc = ImportedDocument::empty(meta.kind);
    let mut warnings = meta.warnings;
    doc.title = meta.title;
    doc.partner = meta.partner;
    doc.parties = meta.parties;
    doc.published_on = meta.published_on;
    doc.period = meta.period;
    doc.edition = meta.edition;

    let body_end = clauses::signing_block(blocks, meta.body_start).unwrap_or(blocks.len());
    let body = blocks.get(meta.body_start..body_end).unwrap_or(&[]);

    let signing = clauses::read(blocks, meta.body_start, body_end, doc.partner.as_ref());
    doc.signed_on = signing.signed_on;
    doc.signed_at = signing.signed_at;
    doc.signatories = signing.signatories;
    doc.entry_into_force = signing.entry_into_force;
    doc.review = signing.review;
    doc.approvers = signing.approvers;

    let (sections, mut structure_warnings) = structure::read(body);
    doc.sections = sections;
    warnings.append(&mut structure_warnings);

    let programme = programme::read(body, doc.kind);
    doc.strategic_objectives = programme.objectives;
    doc.priority_issues = programme.issues;
    doc.partnership_goals = programme.goals;
    doc.priority_areas = programme.areas;
    doc.cooperation_modalities = programme.modalities;
    warnings.extend(programme.warnings);

    // The store wants codes unique per kind: report and disambiguate any repeat.
    for list in [
        &mut doc.strategic_objectives,
        &mut doc.partnership_goals,
        &mut doc.priority_areas,
        &mut doc.cooperation_modalities,
    ] {
        unique_codes(list, &mut warnings);
    }
    let mut seen = HashSet::new();
    for issue in &mut doc.priority_issues {
        if !seen.insert(issue.code.clone()) {
            warnings.push(Warning {
                line: issue.line,
                message: format!("priority issue code `{}` appears twice; renamed", issue.code),
            });
            issue.code = format!("{}-{}", issue.code, issue.line);
        }
    }
    if doc.kind == DocumentKind::Other && doc.title.is_empty() {
        doc.title = "Untitled document".to_owned();
    }
    warnings.sort_by_key(|w| w.line);
    doc.warnings = warnings;
    Ok(doc)
}

fn unique_codes(items: &mut [Item], warnings: &mut Vec<Warning>) {
    let mut seen = HashSet::new();
    for item in items.iter_mut() {
        if !seen.insert(item.code.clone()) {
            warnings.push(Warning {
                line: item.line,
                message: format!(
                    "code `{}` appears twice; the second is renamed `{}-{}`",
                    item.code, item.code, item.line
                ),
            });
            item.code = format!("{}-{}", item.code, item.line);
            seen.insert(item.code.clone());
        }
    }
}
