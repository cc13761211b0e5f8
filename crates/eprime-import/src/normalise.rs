//! From raw text to logical lines: line ends, page furniture, hyphenation, wrapped lines, and items
//! run together on one line. Every logical line keeps the number of the input line it starts on.

use std::collections::HashMap;

use crate::numbering::{self, Scheme};

/// One logical line: a paragraph, item or heading, possibly wrapped over several input lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based number of the input line it starts on.
    pub no: u32,
    pub text: String,
    /// A blank line (or the start of the text) precedes it.
    pub blank_before: bool,
    /// A blank line (or the end of the text) follows it.
    pub blank_after: bool,
}

/// Normalises `text` into logical lines.
pub fn normalise(text: &str) -> Vec<Line> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw: Vec<(u32, String)> =
        text.split('\n').enumerate().map(|(i, l)| (u32::try_from(i + 1).unwrap_or(u32::MAX), clean_chars(l))).collect();
    let raw = drop_furniture(raw);
    let joined = join_lines(&raw);
    let mut out = Vec::with_capacity(joined.len());
    for line in joined {
        split_run_together(line, &mut out);
    }
    out
}

/// Tabs, no-break spaces, form feeds and other control characters become spaces; `\r` goes.
fn clean_chars(line: &str) -> String {
    let mapped: String = line
        .chars()
        .filter(|c| *c != '\r')
        .map(|c| if c.is_control() || c == '\u{a0}' || c == '\u{2007}' || c == '\u{202f}' { ' ' } else { c })
        .collect();
    let trimmed = mapped.trim();
    // A line of bullets and punctuation only ("• |") carries nothing.
    if !trimmed.chars().any(char::is_alphanumeric) {
        return String::new();
    }
    trimmed.to_owned()
}

/// Security markings and page numbers that PDFs repeat on every page.
fn is_furniture(line: &str) -> bool {
    let upper = line.to_uppercase();
    let words = line.split_whitespace().count();
    if words <= 14
        && (upper.contains("UNCLASSIFIED")
            || upper.contains("NATO RESTRICTED")
            || upper.contains("PUBLICLY DISCLOSED")
            || upper.contains("PUBLIC RELEASE"))
        && crate::text::is_upper(line.split("Releasable").next().unwrap_or(line))
    {
        return true;
    }
    let stripped = line.trim_matches(|c: char| c == '-' || c == '–' || c.is_whitespace());
    if !stripped.is_empty() && stripped.len() <= 4 && stripped.bytes().all(|b| b.is_ascii_digit()) {
        return true; // "3", "- 3 -"
    }
    let lower = stripped.to_lowercase();
    let page_words: Vec<&str> = lower.split_whitespace().collect();
    match page_words.as_slice() {
        ["page", n] => n.bytes().all(|b| b.is_ascii_digit()),
        ["page", n, "of", m] | [n, "of", m] => {
            n.bytes().all(|b| b.is_ascii_digit()) && m.bytes().all(|b| b.is_ascii_digit())
        }
        [n] if n.contains('/') => n.split('/').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        _ => false,
    }
}

/// A short line repeated at least three times, digits ignored: a running header or footer.
fn running_key(line: &str) -> Option<String> {
    if line.is_empty() || line.chars().count() > 100 || line.ends_with(':') {
        return None;
    }
    let parsed = numbering::parse(line);
    if parsed.marker.is_some() || parsed.bullet {
        return None;
    }
    Some(line.chars().filter(|c| !c.is_ascii_digit()).collect())
}

fn drop_furniture(raw: Vec<(u32, String)>) -> Vec<(u32, String)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (_, l) in &raw {
        if let Some(key) = running_key(l) {
            *counts.entry(key).or_default() += 1;
        }
    }
    let is_f = |l: &str| {
        !l.is_empty() && (is_furniture(l) || running_key(l).is_some_and(|k| counts.get(&k).is_some_and(|n| *n >= 3)))
    };
    let mut out: Vec<(u32, String)> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        // A run of blank and furniture lines: a page break if it holds any furniture.
        let mut j = i;
        let mut has_furniture = false;
        while j < raw.len() && (raw[j].1.is_empty() || is_f(&raw[j].1)) {
            has_furniture |= !raw[j].1.is_empty();
            j += 1;
        }
        if j == i {
            out.push(raw[i].clone());
            i += 1;
            continue;
        }
        if !has_furniture {
            out.extend(raw[i..j].iter().cloned());
        } else {
            // The page break is dropped, so a sentence broken by it joins up again; a blank is kept
            // only where the text on both sides is not one sentence.
            let before = out.iter().rev().find(|(_, l)| !l.is_empty()).map(|(_, l)| l.as_str());
            let after = raw.get(j).map(|(_, l)| l.as_str());
            let keep_blank = match (before, after) {
                (Some(b), Some(a)) => ends_sentence(b) && starts_block(a),
                _ => true,
            };
            if keep_blank {
                out.push((raw[i].0, String::new()));
            }
        }
        i = j;
    }
    out
}

fn ends_sentence(line: &str) -> bool {
    line.ends_with(['.', ':', ';', '!', '?'])
}

fn starts_block(line: &str) -> bool {
    let parsed = numbering::parse(line);
    parsed.bullet || parsed.marker.is_some() || line.chars().next().is_some_and(char::is_uppercase)
}

fn starts_structure(line: &str) -> bool {
    let parsed = numbering::parse(line);
    parsed.bullet || parsed.marker.is_some() || is_signature_start(line)
}

fn is_signature_start(line: &str) -> bool {
    ["Mr ", "Mrs ", "Ms ", "Dr ", "H.E. ", "Mr. ", "Mrs. ", "Ms. ", "Dr. ", "Sir "].iter().any(|h| line.starts_with(h))
}

/// Whether `next` continues the logical line `current`.
fn continues(current: &str, next: &str, blank_between: bool) -> bool {
    if starts_structure(next) {
        return false;
    }
    let next_lower = next.chars().next().is_some_and(char::is_lowercase);
    let ends_list_item = current.ends_with([':', ';']);
    if blank_between {
        // "… in the Joint Political Declaration," / blank / "signed by …": one sentence across a blank.
        return next_lower && !ends_sentence(current);
    }
    if next_lower {
        return !ends_list_item;
    }
    if ends_sentence(current) {
        return false;
    }
    // An upper-case heading followed by text is a heading and its text; two upper-case lines are one heading.
    let cur_upper = crate::text::is_upper(current);
    let next_upper = crate::text::is_upper(next);
    if cur_upper != next_upper {
        return false;
    }
    // Dates and short labels standing alone at the top of web pages are their own lines.
    !crate::dates::is_dateline(current) && !crate::dates::is_dateline(next)
}

fn join_lines(raw: &[(u32, String)]) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut blank = true;
    for (no, text) in raw {
        if text.is_empty() {
            blank = true;
            if let Some(last) = out.last_mut() {
                last.blank_after = true;
            }
            continue;
        }
        if let Some(last) = out.last_mut()
            && continues(&last.text, text, blank)
        {
            append(&mut last.text, text);
            if !blank {
                last.blank_after = false;
            }
            blank = false;
            continue;
        }
        out.push(Line { no: *no, text: text.clone(), blank_before: blank, blank_after: true });
        blank = false;
    }
    // blank_after is true unless a non-blank line followed directly.
    let n = out.len();
    for i in 0..n {
        let next_blank = out.get(i + 1).is_none_or(|nx| nx.blank_before);
        if let Some(l) = out.get_mut(i) {
            l.blank_after = next_blank;
        }
    }
    out
}

/// Joins a wrapped line, undoing hyphenation: "coop-" + "eration" → "cooperation", but
/// "Japan-" + "NATO" → "Japan-NATO".
fn append(current: &mut String, next: &str) {
    let mut chars = current.chars().rev();
    let hyphen = chars.next() == Some('-') && chars.next().is_some_and(char::is_alphabetic);
    if hyphen {
        if next.chars().next().is_some_and(char::is_lowercase) {
            current.pop();
        }
        current.push_str(next);
    } else {
        current.push(' ');
        current.push_str(next);
    }
}

/// Splits "3.1.1 Cyber defence; 3.1.2 Counter terrorism;" and "• one • two" into one line per item.
fn split_run_together(line: Line, out: &mut Vec<Line>) {
    let parsed = numbering::parse(&line.text);
    let mut pieces: Vec<String> = Vec::new();
    if let Some(marker) = parsed.marker.filter(|m| !matches!(m.scheme, Scheme::Keyword(k) if k.is_division())) {
        // Offsets, not copies: a long line of many items stays linear.
        let text = line.text.as_str();
        let mut begin = 0;
        let mut current = marker;
        loop {
            let rest = text.get(begin..).unwrap_or("");
            let mut next = current.next_written(parsed.keyword_word);
            // "(i) … (ii) …": a lone `i` is a roman numeral when the next item says so.
            if current.ambiguous {
                let roman = numbering::as_roman(&current).next_written(parsed.keyword_word);
                if find_item_start(rest, &roman).is_some() {
                    next = roman;
                }
            }
            let Some(pos) = find_item_start(rest, &next) else { break };
            pieces.push(rest[..pos].trim_end().to_owned());
            begin += pos;
            match numbering::parse(text.get(begin..).unwrap_or("")).marker {
                Some(m) => current = m,
                None => break,
            }
        }
        pieces.push(text.get(begin..).unwrap_or("").trim().to_owned());
    } else if parsed.bullet && line.text.trim_start().starts_with(['•', '●', '▪', '■', '\u{f0b7}']) {
        for piece in line.text.split([' ', '\t']).fold(vec![String::new()], |mut acc, word| {
            if matches!(word, "•" | "●" | "▪" | "■" | "\u{f0b7}") && acc.last().is_some_and(|l| !l.trim().is_empty())
            {
                acc.push(word.to_owned());
            } else if let Some(last) = acc.last_mut() {
                if !last.is_empty() {
                    last.push(' ');
                }
                last.push_str(word);
            }
            acc
        }) {
            pieces.push(piece);
        }
    } else {
        pieces.push(line.text.clone());
    }
    let count = pieces.len();
    for (i, text) in pieces.into_iter().enumerate() {
        out.push(Line {
            no: line.no,
            text,
            blank_before: line.blank_before && i == 0,
            blank_after: line.blank_after && i + 1 == count,
        });
    }
}

/// Where the next item starts inside a line: after list punctuation (";", ".", ":" or "; and").
fn find_item_start(text: &str, next: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|t| t.find(next)) {
        let at = from + pos;
        let end = at + next.len();
        let after_ok = text[end..].chars().next().is_some_and(|c| !c.is_alphanumeric());
        let before = text[..at].trim_end();
        let before_ok = at > 0
            && text[..at].ends_with(' ')
            && (before.ends_with([';', '.', ':']) || before.ends_with("; and") || before.ends_with("; or"));
        if after_ok && before_ok {
            return Some(at);
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<(u32, String)> {
        normalise(s).into_iter().map(|l| (l.no, l.text)).collect()
    }

    #[test]
    fn joins_wrapped_lines_and_hyphenation() {
        let t = texts("1.1 We will coop-\neration with the\nNorth Atlantic Council.\n\n1.2 Next.");
        assert_eq!(
            t,
            vec![(1, "1.1 We will cooperation with the North Atlantic Council.".into()), (5, "1.2 Next.".into())]
        );
    }

    #[test]
    fn joins_across_a_blank_inside_a_sentence() {
        let t = texts("2.1 aimed at the Declaration,\n\nsigned by the Prime Minister.\n");
        assert_eq!(t, vec![(1, "2.1 aimed at the Declaration, signed by the Prime Minister.".into())]);
    }

    #[test]
    fn drops_page_furniture() {
        let t = texts("1. Text that goes on to the\n\nNATO UNCLASSIFIED\nPage 3 of 7\n\nnext page.\n2. Other.");
        assert_eq!(t, vec![(1, "1. Text that goes on to the next page.".into()), (7, "2. Other.".into())]);
    }

    #[test]
    fn splits_items_run_together() {
        let t = texts("3.1.1 Cyber defence; 3.1.2 Counter terrorism; and 3.1.3 Other.");
        assert_eq!(t.len(), 3);
        assert_eq!(t[1].1, "3.1.2 Counter terrorism; and");
        let t = texts("a) One; b) Two.");
        assert_eq!(t.len(), 2);
    }
}
