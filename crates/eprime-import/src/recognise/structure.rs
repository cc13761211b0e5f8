//! Sections (by heading) and their paragraphs, with a check that numbering runs in sequence.

use std::collections::HashMap;

use crate::classify::{Block, BlockKind};
use crate::model::{Paragraph, Section, Warning};
use crate::numbering::Scheme;
use crate::text::{clean_title, sentence_case, squash};

/// Title of the section that holds paragraphs before the first heading.
const LEADING: &str = "Introduction";

pub fn read(body: &[Block]) -> (Vec<Section>, Vec<Warning>) {
    let mut sections: Vec<Section> = Vec::new();
    let mut warnings = Vec::new();
    let mut seq = Sequence::default();
    for b in body {
        if b.kind == BlockKind::Heading {
            seq.check(b, true, &mut warnings);
            let number = b.label().map(str::to_owned);
            let mut title = clean_title(&sentence_case(&b.rest));
            if title.is_empty() {
                title = clean_title(&b.text);
            }
            sections.push(Section { number, title, line: b.line, paragraphs: Vec::new() });
            continue;
        }
        seq.check(b, false, &mut warnings);
        if sections.is_empty() {
            sections.push(Section { number: None, title: LEADING.to_owned(), line: b.line, paragraphs: Vec::new() });
        }
        if let Some(section) = sections.last_mut() {
            section.paragraphs.push(Paragraph {
                number: b.label().map(str::to_owned),
                text: squash(&b.rest),
                line: b.line,
            });
        }
    }
    (sections, warnings)
}

/// Tracks the numbering seen so far to report items that skip or repeat.
#[derive(Default)]
struct Sequence {
    decimal: Option<Vec<u32>>,
    /// Whether a heading came since the last decimal number: numbering may restart there.
    after_heading: bool,
    /// The number of the last numbered heading ("CHAPTER 2"): its paragraphs may be numbered 2.1, 2.2 ….
    heading_value: Option<u32>,
    /// Last value per (scheme, style) for letters, roman numerals and keywords.
    others: HashMap<String, u32>,
}

impl Sequence {
    fn check(&mut self, b: &Block, heading: bool, warnings: &mut Vec<Warning>) {
        let Some(marker) = &b.marker else {
            if heading {
                self.after_heading = true;
                self.others.clear();
            }
            return;
        };
        match marker.scheme {
            Scheme::Decimal => {
                let cur = marker.parts.clone();
                if let Some(prev) = &self.decimal {
                    let restart = self.after_heading
                        && (cur.iter().all(|p| *p == 1)
                            || cur.len() > 1 && cur.first() == self.heading_value.as_ref() && cur.get(1) == Some(&1));
                    if !restart && !follows(prev, &cur) {
                        warnings.push(Warning {
                            line: b.line,
                            message: format!(
                                "numbering skips: {} follows {} (an item may be missing or mis-numbered)",
                                marker.label,
                                join(prev)
                            ),
                        });
                    }
                }
                self.decimal = Some(cur);
                self.after_heading = heading;
                // A new numbered paragraph starts new lettered lists.
                self.others.clear();
            }
            _ => {
                let key = format!("{:?}{:?}", marker.scheme, marker.style);
                let value = marker.value();
                if let Some(prev) = self.others.get(&key)
                    && value != prev + 1
                    && value != 1
                {
                    warnings.push(Warning {
                            line: b.line,
                            message: format!(
                                "numbering skips: `{}` after item {} of the same list (an item may be missing or mis-numbered)",
                                marker.label, prev
                            ),
                        });
                }
                self.others.insert(key, value);
                if heading {
                    self.after_heading = true;
                    self.heading_value = Some(value);
                }
            }
        }
    }
}

fn join(parts: &[u32]) -> String {
    parts.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

/// Whether `cur` may follow `prev`: first child, next sibling, or next sibling of an ancestor.
fn follows(prev: &[u32], cur: &[u32]) -> bool {
    if cur.len() == prev.len() + 1 && cur.starts_with(prev) && cur.last() == Some(&1) {
        return true;
    }
    (1..=prev.len()).any(|k| {
        cur.len() == k && cur[..k - 1] == prev[..k - 1] && prev.get(k - 1).is_some_and(|p| cur[k - 1] == p + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::follows;

    #[test]
    fn sequences() {
        assert!(follows(&[3, 1], &[3, 1, 1]));
        assert!(follows(&[3, 1, 10], &[3, 2]));
        assert!(follows(&[3, 3], &[4]));
        assert!(!follows(&[3, 1, 1], &[3, 1, 3]));
        assert!(!follows(&[1], &[1]));
    }
}
