//! Entry into force, review, and the signing block (place, date, signatories).

use eprime_domain::PartnerCode;
use time::Date;

use crate::classify::{Block, BlockKind};
use crate::model::{Clause, Signatory};
use crate::text::{contains_phrase, squash};
use crate::{dates, partners};

pub struct Signing {
    pub signed_on: Option<Date>,
    pub signed_at: Option<String>,
    pub signatories: Vec<Signatory>,
    pub entry_into_force: Option<Clause>,
    pub review: Option<Clause>,
    pub approvers: Vec<String>,
}

/// The block that opens the signing part: "Signed in Brussels on 6 May 2014 …", "Done at …".
pub fn signing_block(blocks: &[Block], from: usize) -> Option<usize> {
    blocks.iter().enumerate().skip(from).find_map(|(i, b)| {
        let lower = b.rest.to_lowercase();
        let starts =
            ["signed in ", "signed at ", "done in ", "done at ", "signed on "].iter().any(|p| lower.starts_with(p));
        (starts && b.text.chars().count() <= 300).then_some(i)
    })
}

const HONORIFICS: &[&str] = &["Mr", "Mr.", "Mrs", "Mrs.", "Ms", "Ms.", "Dr", "Dr.", "H.E.", "Sir", "Madam", "Dame"];
const OFFICE_WORDS: &[&str] = &[
    "Prime",
    "President",
    "Minister",
    "Secretary",
    "Ambassador",
    "Deputy",
    "Chairman",
    "Chair",
    "Head",
    "Permanent",
    "Chief",
    "Foreign",
    "Vice",
    "Assistant",
    "Director",
    "Commander",
    "Representative",
    "Supreme",
    "Special",
    "Defence",
    "Head,",
    "King",
    "Queen",
];

pub fn read(blocks: &[Block], body_start: usize, body_end: usize, partner: Option<&PartnerCode>) -> Signing {
    let mut out = Signing {
        signed_on: None,
        signed_at: None,
        signatories: Vec::new(),
        entry_into_force: None,
        review: None,
        approvers: Vec::new(),
    };
    if let Some(b) = blocks.get(body_end) {
        out.signed_on = dates::find_date(&b.text);
        out.signed_at = place(&b.rest);
        for s in blocks.iter().skip(body_end + 1) {
            out.signatories.extend(signatories(s));
        }
    } else {
        // No signing line: signatures may still close the text.
        let tail = blocks.len().saturating_sub(4).max(body_start);
        for s in blocks.iter().skip(tail) {
            if s.kind != BlockKind::Heading {
                out.signatories.extend(signatories(s));
            }
        }
    }
    let body = blocks.get(body_start..body_end).unwrap_or(&[]);
    let partner_name = partner.and_then(partners::name_of).map(str::to_lowercase);
    for b in body.iter().filter(|b| b.kind != BlockKind::Heading) {
        let lower = b.lower();
        let force = [
            "enter into force",
            "enters into force",
            "entry into force",
            "come into force",
            "comes into force",
            "come into effect",
            "comes into effect",
        ]
        .iter()
        .any(|p| lower.contains(p));
        if force && out.entry_into_force.is_none() {
            out.entry_into_force = Some(Clause { text: squash(&b.rest), line: b.line });
            if contains_phrase(&lower, "north atlantic council") || contains_phrase(&lower, "nac") {
                out.approvers.push("nac".to_owned());
            }
            let names_partner = partner_name.as_deref().is_some_and(|n| contains_phrase(&lower, n))
                || !partners::mentions(&b.text).is_empty()
                || contains_phrase(&lower, "partner");
            if names_partner {
                out.approvers.push("partner".to_owned());
            }
            continue;
        }
        let review = [
            "be reviewed",
            "reviewed",
            "will review",
            "shall review",
            "review of this",
            "review of the",
            "reviewing",
            "stock-take",
            "stocktake",
        ]
        .iter()
        .any(|p| contains_phrase(&lower, p));
        if review && out.review.is_none() {
            out.review = Some(Clause { text: squash(&b.rest), line: b.line });
        }
    }
    out
}

/// The place in "Signed in Brussels on 6 May 2014": capitalised words after "in"/"at".
fn place(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let start = words.iter().position(|w| matches!(*w, "in" | "at"))? + 1;
    let mut name = Vec::new();
    for w in words.iter().skip(start) {
        let clean = w.trim_end_matches([',', '.', ';']);
        if !clean.chars().next().is_some_and(char::is_uppercase) || dates::find_date(clean).is_some() {
            break;
        }
        name.push(clean);
        if clean.len() != w.len() {
            break;
        }
    }
    (!name.is_empty()).then(|| name.join(" "))
}

/// Signatories on one line, possibly several run together:
/// "Mr Shinzo Abe Prime Minister of Japan Mr Anders Fogh Rasmussen Secretary General, …".
fn signatories(b: &Block) -> Vec<Signatory> {
    let words: Vec<&str> = b.text.split_whitespace().collect();
    let starts: Vec<usize> = words
        .iter()
        .enumerate()
        .filter(|(i, w)| {
            HONORIFICS.contains(w) && words.get(i + 1).is_some_and(|n| n.chars().next().is_some_and(char::is_uppercase))
        })
        .map(|(i, _)| i)
        .collect();
    if starts.first() != Some(&0) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(words.len());
        let segment = words.get(s..end).unwrap_or(&[]);
        let office_at = segment
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, w)| OFFICE_WORDS.contains(w))
            .map_or(segment.len(), |(i, _)| i);
        let name = segment.get(..office_at).unwrap_or(&[]).join(" ");
        let office = segment.get(office_at..).unwrap_or(&[]).join(" ");
        let name = name.trim_end_matches(',').to_owned();
        let office = office.trim_end_matches(['.', ',']).to_owned();
        out.push(Signatory { name, office, line: b.line });
    }
    out
}
