//! Lines up the themes of two programme cycles (e.g. IPCP 2014 priority areas against ITPP 2023–2026
//! goals): which were carried over, which are new, which were dropped.
//!
//! Themes match by the meaning of their words, not by identical titles: each title becomes a set of
//! *key concepts* (from a small table of synonyms and phrases: "humanitarian assistance and disaster
//! relief" and "emergency management" are one concept) and of *stems* of its remaining content words
//! (a hand-written suffix stripper; stop words and domain filler such as "Japan", "NATO",
//! "cooperation", "enhance" removed). Two themes match when their overlap, measured against the
//! smaller of the two, reaches [`THRESHOLD`]; concepts weigh twice as much as stems. A theme may
//! match several themes of the other cycle when each is justified.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::ImportedDocument;
use crate::text::words_lower;

/// A programme element to compare: a goal, a priority area or an objective.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Theme {
    pub code: String,
    pub title: String,
    pub text: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Match {
    pub from: Theme,
    pub to: Theme,
    /// 0..=1: the weighted share of the smaller theme's terms found in the other.
    pub score: f64,
    pub shared_terms: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Comparison {
    pub carried_over: Vec<Match>,
    /// Themes of the second cycle that match nothing in the first.
    pub new: Vec<Theme>,
    /// Themes of the first cycle that match nothing in the second.
    pub dropped: Vec<Theme>,
}

/// Minimum score for two themes to be the same theme.
pub const THRESHOLD: f64 = 0.5;

/// The themes of a document: its goals if any, else its priority areas, else its objectives.
pub fn themes(doc: &ImportedDocument) -> Vec<Theme> {
    let items = if !doc.partnership_goals.is_empty() {
        &doc.partnership_goals
    } else if !doc.priority_areas.is_empty() {
        &doc.priority_areas
    } else {
        &doc.strategic_objectives
    };
    items.iter().map(|i| Theme { code: i.code.clone(), title: i.title.clone(), text: i.text.clone() }).collect()
}

/// Key concepts: phrases (as lower-case words) and the concept they name. Longer phrases are tried
/// first, so "emerging and disruptive technologies" is not also "technology".
const CONCEPTS: &[(&str, &str)] = &[
    ("cyber", "cyber defence"),
    ("cyber defence", "cyber defence"),
    ("cyber defense", "cyber defence"),
    ("cyber-defence", "cyber defence"),
    ("cyber-defense", "cyber defence"),
    ("cybersecurity", "cyber defence"),
    ("cyber security", "cyber defence"),
    ("humanitarian assistance", "emergency management"),
    ("disaster relief", "emergency management"),
    ("disaster response", "emergency management"),
    ("disaster", "emergency management"),
    ("disasters", "emergency management"),
    ("hadr", "emergency management"),
    ("emergency management", "emergency management"),
    ("civil emergency", "emergency management"),
    ("civil emergency planning", "emergency management"),
    ("maritime", "maritime security"),
    ("maritime security", "maritime security"),
    ("counter piracy", "maritime security"),
    ("counter-piracy", "maritime security"),
    ("piracy", "maritime security"),
    ("anti-piracy", "maritime security"),
    ("antipiracy", "maritime security"),
    ("naval", "maritime security"),
    ("disarmament", "arms control"),
    ("arms control", "arms control"),
    ("non-proliferation", "arms control"),
    ("nonproliferation", "arms control"),
    ("non proliferation", "arms control"),
    ("weapons of mass destruction", "arms control"),
    ("wmd", "arms control"),
    ("small arms", "arms control"),
    ("light weapons", "arms control"),
    ("science", "science and technology"),
    ("scientific", "science and technology"),
    ("technology", "science and technology"),
    ("technologies", "science and technology"),
    ("research", "science and technology"),
    ("science and technology", "science and technology"),
    ("emerging and disruptive technologies", "emerging and disruptive technologies"),
    ("emerging and disruptive technology", "emerging and disruptive technologies"),
    ("emerging disruptive technologies", "emerging and disruptive technologies"),
    ("edt", "emerging and disruptive technologies"),
    ("women peace and security", "women, peace and security"),
    ("wps", "women, peace and security"),
    ("gender", "women, peace and security"),
    ("unscr 1325", "women, peace and security"),
    ("public diplomacy", "public diplomacy"),
    ("strategic communication", "strategic communication"),
    ("strategic communications", "strategic communication"),
    ("stratcom", "strategic communication"),
    ("counter terrorism", "counter-terrorism"),
    ("counter-terrorism", "counter-terrorism"),
    ("counterterrorism", "counter-terrorism"),
    ("terrorism", "counter-terrorism"),
    ("comprehensive approach", "crisis management"),
    ("conflict management", "crisis management"),
    ("crisis management", "crisis management"),
    ("crisis", "crisis management"),
    ("space", "space security"),
    ("outer space", "space security"),
    ("climate", "climate change and security"),
    ("climate change", "climate change and security"),
    ("resilience", "resilience"),
    ("civil preparedness", "resilience"),
    ("interoperability", "interoperability"),
    ("human security", "human security"),
    ("dialogue", "dialogue"),
    ("consultation", "dialogue"),
    ("consultations", "dialogue"),
    ("peacekeeping", "peace support operations"),
    ("peace support", "peace support operations"),
    ("capability development", "capability development"),
    ("energy security", "energy security"),
];

/// Words that carry no theme: grammar, and the filler every partnership text repeats.
const STOP: &[&str] = &[
    "a",
    "an",
    "and",
    "or",
    "the",
    "of",
    "in",
    "on",
    "to",
    "for",
    "with",
    "by",
    "at",
    "from",
    "as",
    "its",
    "their",
    "our",
    "this",
    "that",
    "these",
    "those",
    "be",
    "is",
    "are",
    "will",
    "should",
    "between",
    "into",
    "through",
    "other",
    "especially",
    "particular",
    "including",
    "related",
    "relevant",
    "mutual",
    "interest",
    "interests",
    "area",
    "areas",
    "field",
    "japan",
    "nato",
    "partner",
    "partners",
    "partnership",
    "cooperation",
    "cooperate",
    "cooperative",
    "effectively",
    "effective",
    "enhance",
    "enhancing",
    "promote",
    "promoting",
    "strengthen",
    "deepen",
    "security",
    "defence",
    "defense",
    "issues",
    "issue",
    "perspective",
    "initiatives",
    "mainstreaming",
    "practical",
    "development",
    "sharing",
    "share",
    "lessons",
    "learned",
    "on",
    "further",
    "well",
    "both",
    "all",
    "each",
    "such",
];

/// A small suffix stripper: enough to make "technologies"/"technology" and "exercises"/"exercise" meet.
pub fn stem(word: &str) -> String {
    let mut w = word.trim_end_matches("'s").to_owned();
    if w.len() > 4 {
        if let Some(s) = w.strip_suffix("ies") {
            w = format!("{s}y");
        } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
            w.pop();
        }
    }
    for (suffix, replacement) in [
        ("isation", "ize"),
        ("ization", "ize"),
        ("ational", "ate"),
        ("ation", "ate"),
        ("ment", ""),
        ("ness", ""),
        ("ing", ""),
        ("ed", ""),
    ] {
        if let Some(s) = w.strip_suffix(suffix)
            && s.len() >= 4
        {
            w = format!("{s}{replacement}");
            break;
        }
    }
    if w.len() > 4 && w.ends_with('e') {
        w.pop();
    }
    w
}

#[derive(Debug, Default)]
struct Terms {
    concepts: BTreeSet<&'static str>,
    stems: BTreeSet<String>,
}

impl Terms {
    fn weight(&self) -> f64 {
        2.0 * self.concepts.len() as f64 + self.stems.len() as f64
    }
}

fn terms_of(text: &str) -> Terms {
    let words = words_lower(text);
    let mut t = Terms::default();
    let mut i = 0;
    while i < words.len() {
        let mut best: Option<(usize, &'static str)> = None;
        let Some(word) = words.get(i) else { break };
        for (phrase, concept) in CONCEPTS {
            if phrase.split(' ').next() != Some(word.as_str()) {
                continue;
            }
            let parts: Vec<&str> = phrase.split(' ').collect();
            if best.is_some_and(|(n, _)| n >= parts.len()) {
                continue;
            }
            if parts.iter().enumerate().all(|(k, p)| words.get(i + k).is_some_and(|w| w == p)) {
                best = Some((parts.len(), concept));
            }
        }
        match best {
            Some((n, concept)) => {
                t.concepts.insert(concept);
                i += n;
            }
            None => {
                if let Some(w) = words.get(i)
                    && !STOP.contains(&w.as_str())
                    && w.len() > 2
                    && !w.bytes().all(|b| b.is_ascii_digit())
                {
                    t.stems.insert(stem(w));
                }
                i += 1;
            }
        }
    }
    t
}

fn theme_terms(theme: &Theme) -> Terms {
    let t = terms_of(&theme.title);
    if t.concepts.is_empty() && t.stems.is_empty() { terms_of(&theme.text) } else { t }
}

fn score(a: &Terms, b: &Terms) -> (f64, Vec<String>) {
    let shared_concepts: Vec<&str> = a.concepts.intersection(&b.concepts).copied().collect();
    let shared_stems: Vec<&String> = a.stems.intersection(&b.stems).collect();
    let overlap = 2.0 * shared_concepts.len() as f64 + shared_stems.len() as f64;
    let smaller = a.weight().min(b.weight());
    if smaller <= 0.0 {
        return (0.0, Vec::new());
    }
    let mut shared: Vec<String> = shared_concepts.into_iter().map(str::to_owned).collect();
    shared.extend(shared_stems.into_iter().cloned());
    ((overlap / smaller).min(1.0), shared)
}

/// Compares the themes of cycle `a` (earlier) with those of cycle `b` (later).
pub fn compare(a: &[Theme], b: &[Theme]) -> Comparison {
    let ta: Vec<Terms> = a.iter().map(theme_terms).collect();
    let tb: Vec<Terms> = b.iter().map(theme_terms).collect();
    let mut out = Comparison::default();
    let mut a_matched = vec![false; a.len()];
    for (j, (theme_b, terms_b)) in b.iter().zip(&tb).enumerate() {
        let mut matched = false;
        for (i, (theme_a, terms_a)) in a.iter().zip(&ta).enumerate() {
            let (s, shared) = score(terms_a, terms_b);
            if s >= THRESHOLD && !shared.is_empty() {
                matched = true;
                if let Some(m) = a_matched.get_mut(i) {
                    *m = true;
                }
                out.carried_over.push(Match {
                    from: theme_a.clone(),
                    to: theme_b.clone(),
                    score: (s * 100.0).round() / 100.0,
                    shared_terms: shared,
                });
            }
        }
        if !matched {
            out.new.push(b[j].clone());
        }
    }
    out.dropped = a.iter().zip(a_matched).filter(|(_, m)| !m).map(|(t, _)| t.clone()).collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(code: &str, title: &str) -> Theme {
        Theme { code: code.into(), title: title.into(), text: title.into() }
    }

    #[test]
    fn stems_meet() {
        assert_eq!(stem("technologies"), stem("technology"));
        assert_eq!(stem("exercises"), stem("exercise"));
        assert_eq!(stem("communications"), stem("communication"));
    }

    #[test]
    fn synonyms_match_and_filler_does_not() {
        let a =
            [theme("1", "Cooperation on humanitarian assistance and disaster relief"), theme("2", "Counter terrorism")];
        let b = [theme("x", "Emergency management"), theme("y", "Space security")];
        let c = compare(&a, &b);
        assert_eq!(c.carried_over.len(), 1);
        assert_eq!(c.carried_over[0].shared_terms, vec!["emergency management".to_owned()]);
        assert_eq!(c.new, vec![b[1].clone()]);
        assert_eq!(c.dropped, vec![a[1].clone()]);
    }
}
