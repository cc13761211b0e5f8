//! The title block and what it says: title, kind, edition, period, web-page date, partner, parties.

use eprime_domain::{DocumentKind, PartnerCode};
use time::Date;

use crate::classify::Block;
use crate::model::{Period, Warning};
use crate::partners;
use crate::text::{clean_title, contains_phrase, squash, title_case};
use crate::{ImportError, ImportOptions, dates};

pub struct Metadata {
    pub kind: DocumentKind,
    pub title: String,
    pub partner: Option<PartnerCode>,
    pub parties: Vec<String>,
    pub published_on: Option<Date>,
    pub period: Option<Period>,
    pub edition: Option<String>,
    /// Index of the first block after the title block.
    pub body_start: usize,
    pub warnings: Vec<Warning>,
}

const NATO: &str = "North Atlantic Treaty Organization";

/// The kind named by a phrase (title or opening lines).
pub fn kind_named(text: &str) -> Option<DocumentKind> {
    let t = squash(&text.to_lowercase().replace(['-', '–'], " "));
    let has = |p: &str| contains_phrase(&t, p);
    if has("individually tailored partnership programme")
        || has("individually tailored partnership program")
        || has("itpp")
    {
        Some(DocumentKind::Itpp)
    } else if has("individual partnership and cooperation programme")
        || has("individual partnership and cooperation program")
        || has("ipcp")
    {
        Some(DocumentKind::Ipcp)
    } else if has("individual partnership action plan") || has("ipap") {
        Some(DocumentKind::Ipap)
    } else if has("annual national programme") || has("annual national program") {
        Some(DocumentKind::Anp)
    } else if has("political declaration") {
        Some(DocumentKind::Jpd)
    } else {
        None
    }
}

fn is_edition_line(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("open edition") && text.split_whitespace().count() <= 6
}

pub fn read(blocks: &[Block], options: &ImportOptions) -> Result<Metadata, ImportError> {
    let mut edition = None;
    let mut published_on = None;
    let mut title_block: Option<&Block> = None;
    let mut i = 0;
    // The title block: datelines, an edition line and the first unnumbered line.
    while let Some(b) = blocks.get(i) {
        if i >= 12 {
            break;
        }
        if is_edition_line(&b.text) {
            edition = Some("open".to_owned());
        } else if dates::is_dateline(&b.text) {
            if published_on.is_none() {
                published_on = dates::find_date(&b.text);
            }
        } else if title_block.is_none() && b.marker.is_none() && !b.bullet {
            title_block = Some(b);
        } else {
            break;
        }
        i += 1;
    }
    let body_start = i;
    if blocks.iter().any(|b| b.lower().contains("open edition") && b.text.split_whitespace().count() <= 30) {
        edition = Some("open".to_owned());
    }
    let title_text = title_block.map(|b| b.text.clone()).unwrap_or_default();
    let opening: String = blocks.iter().take(body_start + 3).map(|b| b.text.as_str()).collect::<Vec<_>>().join(" ");
    let kind = kind_named(&title_text)
        .or_else(|| blocks.iter().take(body_start + 2).find_map(|b| kind_named_opening(&b.text)))
        .unwrap_or(DocumentKind::Other);

    let all_text: String = blocks.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join("\n");
    let lower_all = all_text.to_lowercase();
    let about_nato =
        ["nato", "north atlantic", "alliance", "allies", "partnership"].iter().any(|w| contains_phrase(&lower_all, w));
    let detected = partners::detect(&title_text, &all_text);
    if kind == DocumentKind::Other && !about_nato && detected.is_none() {
        return Err(ImportError::NotAPartnershipDocument {
            reason: "the text names neither NATO nor a partner nation, and no title says it is a Joint Political \
                     Declaration, IPCP, ITPP, IPAP or Annual National Programme; check that this is the right file"
                .to_owned(),
        });
    }

    let mut warnings = Vec::new();
    let partner = match (&options.partner, &detected) {
        (Some(given), Some(found)) => {
            if given.as_str() != found.code {
                let line = blocks
                    .iter()
                    .find(|b| partners::mentions(&b.text).iter().any(|m| m.code == found.code))
                    .map_or(1, |b| b.line);
                warnings.push(Warning {
                    line,
                    message: format!(
                        "the text is about {} ({}), but the import was asked for partner {}; kept {}",
                        found.name,
                        found.code,
                        given.as_str(),
                        given.as_str()
                    ),
                });
            }
            Some(given.clone())
        }
        (Some(given), None) => Some(given.clone()),
        (None, Some(found)) => PartnerCode::parse(found.code).ok(),
        (None, None) => None,
    };

    let mut parties = Vec::new();
    if kind != DocumentKind::Other {
        if let Some(p) = &partner {
            parties.push(partners::name_of(p).map_or_else(|| p.as_str().to_owned(), str::to_owned));
        }
        if about_nato {
            parties.push(NATO.to_owned());
        }
    }

    let period = if kind.is_programme() && kind != DocumentKind::Other {
        dates::find_period(&title_text)
            .or_else(|| dates::find_period(&opening))
            .or_else(|| {
                blocks.iter().take(60).find_map(|b| {
                    let l = b.lower();
                    let about_period = ["cycle", "period", "covering", "for the years"].iter().any(|w| l.contains(w));
                    if about_period { dates::find_period(&b.text) } else { None }
                })
            })
            .map(|(from, to)| Period { from, to })
    } else {
        None
    };

    let title = if title_text.is_empty() {
        blocks
            .iter()
            .find(|b| b.kind == crate::classify::BlockKind::Heading)
            .or_else(|| blocks.first())
            .map(|b| clean_title(&title_case(&b.rest)))
            .unwrap_or_default()
    } else {
        clean_title(&title_case(&title_text))
    };
    let title = if title.is_empty() { format!("{} document", kind.as_str()) } else { title };

    Ok(Metadata { kind, title, partner, parties, published_on, period, edition, body_start, warnings })
}

/// An opening line that announces its kind ("This Individual Partnership Action Plan …").
fn kind_named_opening(text: &str) -> Option<DocumentKind> {
    let lower = text.to_lowercase();
    if lower.split_whitespace().count() <= 25 { kind_named(text) } else { None }
}
