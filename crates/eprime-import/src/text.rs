//! Small text helpers shared by the recognisers.

/// Acronyms kept upper case when an all-caps phrase is put in sentence or title case.
const ACRONYMS: &[&str] = &[
    "NATO", "EU", "UN", "OSCE", "ITPP", "IPCP", "IPAP", "ANP", "JPD", "WPS", "WMD", "CBRN", "STRATCOM", "NAC", "EAPC",
    "PCM", "SPS", "HADR", "UNSCR", "NAP", "ICT", "AI", "II", "III", "IV", "VI", "VII", "VIII", "IX", "XI", "XII",
];

/// Proper nouns that keep their capital in sentence case.
fn is_proper(word_lower: &str) -> bool {
    crate::partners::is_partner_word(word_lower)
        || matches!(word_lower, "euro-atlantic" | "indo-pacific" | "atlantic" | "pacific" | "european" | "asia-pacific")
}

/// Whether the letters of `text` are (almost) all upper case: an upper-case heading or phrase.
pub fn is_upper(text: &str) -> bool {
    let (mut upper, mut lower) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_uppercase() {
            upper += 1;
        } else if c.is_lowercase() {
            lower += 1;
        }
    }
    upper >= 3 && lower * 10 <= upper
}

fn fix_word(word: &str, first: bool, title_case: bool) -> String {
    let core: String = word.chars().filter(|c| c.is_alphanumeric()).collect();
    if ACRONYMS.contains(&core.as_str()) {
        return word.to_owned();
    }
    let lower = word.to_lowercase();
    let core_lower = core.to_lowercase();
    let small = matches!(
        core_lower.as_str(),
        "a" | "an"
            | "and"
            | "or"
            | "of"
            | "the"
            | "to"
            | "in"
            | "on"
            | "for"
            | "with"
            | "between"
            | "by"
            | "at"
            | "from"
    );
    if first || is_proper(&core_lower) || (title_case && !small) { capitalise(&lower) } else { lower }
}

fn capitalise(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut done = false;
    for c in word.chars() {
        if !done && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            done = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// "ARMS CONTROL, DISARMAMENT AND NON-PROLIFERATION" → "Arms control, disarmament and non-proliferation".
/// Mixed-case text is returned as it is.
pub fn sentence_case(text: &str) -> String {
    if !is_upper(text) {
        return text.to_owned();
    }
    text.split_whitespace().enumerate().map(|(i, w)| fix_word(w, i == 0, false)).collect::<Vec<_>>().join(" ")
}

/// "INDIVIDUAL PARTNERSHIP AND COOPERATION PROGRAMME BETWEEN JAPAN AND NATO" →
/// "Individual Partnership and Cooperation Programme between Japan and NATO".
pub fn title_case(text: &str) -> String {
    if !is_upper(text) {
        return text.to_owned();
    }
    text.split_whitespace().enumerate().map(|(i, w)| fix_word(w, i == 0, true)).collect::<Vec<_>>().join(" ")
}

/// Collapses whitespace to single spaces.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A title the store accepts: one line, non-empty, at most 300 characters (cut at a word boundary),
/// without the list punctuation that ends an item ("; and", ";", ".", ",", ":").
pub fn clean_title(text: &str) -> String {
    let mut t = squash(text);
    loop {
        let before = t.len();
        for suffix in ["; and", "; or", ";", ".", ",", ":", " and", " or"] {
            if let Some(s) = t.strip_suffix(suffix) {
                t = s.trim_end().to_owned();
            }
        }
        if t.len() == before {
            break;
        }
    }
    truncate_words(&t, 300)
}

/// Cuts `text` to at most `max` characters at a word boundary.
pub fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        let extra = if out.is_empty() { 0 } else { 1 };
        if out.chars().count() + extra + word.chars().count() > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        // One enormous word: cut it by characters.
        out = text.chars().take(max).collect();
    }
    out
}

/// Lower-case words of `text` (letters and digits, hyphens kept inside words).
pub fn words_lower(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .map(|w| w.trim_matches(|c| c == '-' || c == '\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether `haystack` contains `needle` as whole words (both already lower case).
pub fn contains_phrase(haystack: &str, needle: &str) -> bool {
    let mut start = 0;
    while let Some(pos) = haystack.get(start..).and_then(|h| h.find(needle)) {
        let at = start + pos;
        let end = at + needle.len();
        let before_ok = haystack[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after_ok = haystack[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return true;
        }
        start = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(
            sentence_case("ARMS CONTROL, DISARMAMENT AND NON-PROLIFERATION"),
            "Arms control, disarmament and non-proliferation"
        );
        assert_eq!(sentence_case("WOMEN, PEACE AND SECURITY"), "Women, peace and security");
        assert_eq!(
            title_case("INDIVIDUAL PARTNERSHIP AND COOPERATION PROGRAMME BETWEEN JAPAN AND NATO"),
            "Individual Partnership and Cooperation Programme between Japan and NATO"
        );
        assert_eq!(
            clean_title("Mainstreaming a perspective in peace missions; and"),
            "Mainstreaming a perspective in peace missions"
        );
        assert_eq!(truncate_words("aaa bbb ccc", 7), "aaa bbb");
        assert!(contains_phrase("the north atlantic council and", "north atlantic council"));
        assert!(!contains_phrase("cyberspace", "cyber"));
    }
}
