//! The free-text language of `q` and its translation into a tantivy query.
//!
//! Deliberately small, so that it is easy to explain and cannot be abused: words (all must match),
//! `"quoted phrases"` and `prefix*`. Everything else is a word separator or a clear error; there are no
//! operators, fields or fuzzy matching, and no input can make it panic.

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhrasePrefixQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use crate::analysis::pair;
use crate::schema::Fields;
use crate::types::SearchError;

/// Longest accepted `q`, in characters.
pub(crate) const MAX_QUERY_CHARS: usize = 500;
/// Most words, phrases and prefixes in one `q`.
pub(crate) const MAX_CLAUSES: usize = 16;
/// Shortest prefix before `*`: a one-letter prefix expands to a large part of the vocabulary.
pub(crate) const MIN_PREFIX_CHARS: usize = 2;

/// Relative weight of a match per field: a word in the title says more than one in the description.
const TITLE_BOOST: f32 = 3.0;
const META_BOOST: f32 = 1.5;

/// One part of `q`, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clause {
    Word(String),
    Phrase(String),
    Prefix(String),
}

fn query_error(msg: impl Into<String>) -> SearchError {
    SearchError::Query(msg.into())
}

/// Splits `q` into clauses. Positions in messages count characters from 1.
pub(crate) fn parse(q: &str) -> Result<Vec<Clause>, SearchError> {
    let chars: Vec<char> = q.chars().collect();
    if chars.len() > MAX_QUERY_CHARS {
        return Err(query_error(format!(
            "the search text is too long ({} characters, at most {MAX_QUERY_CHARS})",
            chars.len()
        )));
    }
    let mut clauses = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let start = i;
            let Some(len) = chars[i + 1..].iter().position(|&c| c == '"') else {
                return Err(query_error(format!(
                    "unbalanced quote: the phrase opened at character {} is never closed with \"",
                    start + 1
                )));
            };
            let end = i + 1 + len;
            let text: String = chars[i + 1..end].iter().collect();
            if text.trim().is_empty() {
                return Err(query_error(format!("empty phrase \"\" at character {}", start + 1)));
            }
            if chars.get(end + 1) == Some(&'*') {
                return Err(query_error(format!(
                    "'*' after the phrase at character {}: only a single word can be a prefix, e.g. cyb*",
                    end + 2
                )));
            }
            clauses.push(Clause::Phrase(text));
            i = end + 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            clauses.push(word_clause(word, start)?);
        }
    }
    if clauses.len() > MAX_CLAUSES {
        return Err(query_error(format!("too many words and phrases ({}, at most {MAX_CLAUSES})", clauses.len())));
    }
    Ok(clauses)
}

fn word_clause(word: String, start: usize) -> Result<Clause, SearchError> {
    let Some(star) = word.chars().position(|c| c == '*') else {
        return Ok(Clause::Word(word));
    };
    let len = word.chars().count();
    if star + 1 != len {
        return Err(query_error(format!(
            "'*' at character {} is inside a word: '*' may only end a word, e.g. cyb*",
            start + star + 1
        )));
    }
    let stem: String = word.chars().take(star).collect();
    let letters = stem.chars().filter(|c| c.is_alphanumeric()).count();
    if letters == 0 {
        return Err(query_error(format!(
            "'*' at character {} has no word before it: write the beginning of a word, e.g. cyb*",
            start + star + 1
        )));
    }
    if letters < MIN_PREFIX_CHARS {
        return Err(query_error(format!(
            "the prefix {word} at character {} is too short: give at least {MIN_PREFIX_CHARS} letters before '*'",
            start + 1
        )));
    }
    Ok(Clause::Prefix(stem))
}

/// Analysers for the two kinds of text field; cloned per search because tokenising needs `&mut`.
#[derive(Clone)]
pub(crate) struct Analyzers {
    pub stemmed: TextAnalyzer,
    pub unstemmed: TextAnalyzer,
}

fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let t = stream.token();
        out.push((t.position, t.text.clone()));
    }
    out
}

/// The text part of a search: every clause must match in at least one field.
pub(crate) struct TextQuery {
    /// Each clause with a key naming what it matches (the same key, the same documents), so the
    /// documents a clause matches can be kept per segment and reused by the next search.
    pub clauses: Vec<(String, Box<dyn Query>)>,
    /// Whether the text ranks its matches: words and phrases score by BM25; prefixes match whole families of
    /// words and score every match alike, so a text of prefixes only lists its matches in browsing order.
    pub ranked: bool,
}

impl TextQuery {
    /// What the whole text matches and how it ranks, as one key.
    pub fn key(&self) -> String {
        self.clauses.iter().map(|(key, _)| key.as_str()).collect::<Vec<_>>().join("\u{1f}")
    }

    /// All clauses together, for scoring.
    pub fn combined(&self) -> Box<dyn Query> {
        match self.clauses.as_slice() {
            [(_, only)] => only.box_clone(),
            many => Box::new(BooleanQuery::new(many.iter().map(|(_, q)| (Occur::Must, q.box_clone())).collect())),
        }
    }
}

/// The text part of a search; `None` if `q` has no clauses.
pub(crate) fn text_query(
    fields: &Fields,
    analyzers: &mut Analyzers,
    clauses: &[Clause],
) -> Result<Option<TextQuery>, SearchError> {
    let mut built: Vec<(String, Box<dyn Query>)> = Vec::new();
    let mut ranked_any = false;
    for clause in clauses {
        match clause {
            Clause::Word(text) | Clause::Phrase(text) => {
                let toks = tokens(&mut analyzers.stemmed, text);
                if toks.is_empty() {
                    // Punctuation alone ("-", "&") separates words; it is not something to find.
                    continue;
                }
                let key = format!("w:{}", toks.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" "));
                built.push((key, ranked(fields, &toks)));
                ranked_any = true;
            }
            Clause::Prefix(text) => {
                let toks = tokens(&mut analyzers.unstemmed, text);
                let key = format!("p:{}", toks.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" "));
                let query = prefix(fields.words, toks).ok_or_else(|| {
                    query_error(format!("nothing searchable in the prefix {text}*: use letters or digits"))
                })?;
                built.push((key, query));
            }
        }
    }
    if built.is_empty() {
        return if clauses.is_empty() {
            Ok(None)
        } else {
            Err(query_error("the search text has no words to look for: use letters or digits"))
        };
    }
    built.sort_by(|a, b| a.0.cmp(&b.0));
    built.dedup_by(|a, b| a.0 == b.0);
    Ok(Some(TextQuery { clauses: built, ranked: ranked_any }))
}

/// A word or phrase, scored in each ranked field with that field's boost. Several tokens (a phrase, or a
/// word like "CYB-NS-2026" that the analyser splits) must appear as adjacent pairs in the title, or in the
/// description and meta fields: exact for two words, and for longer phrases every adjacent pair must occur.
fn ranked(fields: &Fields, toks: &[(usize, String)]) -> Box<dyn Query> {
    let term = |field: Field, text: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs))
    };
    let boost = |query: Box<dyn Query>, boost: f32| -> Box<dyn Query> {
        if boost == 1.0 { query } else { Box::new(BoostQuery::new(query, boost)) }
    };
    let should: Vec<(Occur, Box<dyn Query>)> = if let [(_, tok)] = toks {
        [(fields.title, TITLE_BOOST), (fields.body, 1.0), (fields.meta, META_BOOST)]
            .into_iter()
            .map(|(field, b)| (Occur::Should, boost(term(field, tok), b)))
            .collect()
    } else {
        [(fields.title_pairs, TITLE_BOOST), (fields.pairs, 1.0)]
            .into_iter()
            .map(|(field, b)| {
                let all: Vec<(Occur, Box<dyn Query>)> =
                    toks.windows(2).map(|w| (Occur::Must, term(field, &pair(&w[0].1, &w[1].1)))).collect();
                (Occur::Should, boost(Box::new(BooleanQuery::new(all)), b))
            })
            .collect()
    };
    Box::new(BooleanQuery::new(should))
}

/// `cyb*`: any word starting with the prefix. Leading tokens of a split prefix ("cyber-sec*") must match
/// as whole words; the unstemmed field has no positions, so they are not required to be adjacent.
fn prefix(words: Field, mut toks: Vec<(usize, String)>) -> Option<Box<dyn Query>> {
    let (_, last) = toks.pop()?;
    let mut expansion = PhrasePrefixQuery::new(vec![Term::from_field_text(words, &last)]);
    // The default stops after 50 terms, which would silently drop matches.
    expansion.set_max_expansions(u32::MAX);
    if toks.is_empty() {
        return Some(Box::new(expansion));
    }
    let mut must: Vec<(Occur, Box<dyn Query>)> = toks
        .into_iter()
        .map(|(_, tok)| {
            let q: Box<dyn Query> =
                Box::new(TermQuery::new(Term::from_field_text(words, &tok), IndexRecordOption::Basic));
            (Occur::Must, q)
        })
        .collect();
    must.push((Occur::Must, Box::new(expansion)));
    Some(Box::new(BooleanQuery::new(must)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<Clause> {
        v.iter().map(|w| Clause::Word(w.to_string())).collect()
    }

    #[test]
    fn splits_words_phrases_and_prefixes() {
        assert_eq!(parse("  cyber  defence ").unwrap(), words(&["cyber", "defence"]));
        assert_eq!(
            parse("\"crisis management\" cyb* x").unwrap(),
            vec![Clause::Phrase("crisis management".into()), Clause::Prefix("cyb".into()), Clause::Word("x".into())]
        );
        assert_eq!(
            parse("a\"b c\"d").unwrap(),
            vec![Clause::Word("a".into()), Clause::Phrase("b c".into()), Clause::Word("d".into())]
        );
        assert!(parse("   ").unwrap().is_empty());
    }

    #[test]
    fn malformed_queries_say_what_and_where() {
        let msg = |q: &str| match parse(q) {
            Err(SearchError::Query(m)) => m,
            other => panic!("{q:?} gave {other:?}"),
        };
        assert!(msg("cyber \"defence").contains("character 7"), "{}", msg("cyber \"defence"));
        assert!(msg("*").contains("no word before it"));
        assert!(msg("a **").contains("character 3"));
        assert!(msg("cy*ber").contains("inside a word"));
        assert!(msg("\"\"").contains("empty phrase"));
        assert!(msg("\"ab cd\"*").contains("only a single word"));
        assert!(msg("c*").contains("too short"));
        assert!(msg(&"x ".repeat(MAX_CLAUSES + 1)).contains("too many"));
        assert!(msg(&"x".repeat(MAX_QUERY_CHARS + 1)).contains("too long"));
    }
}
