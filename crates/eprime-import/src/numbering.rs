//! Recognises the marker a line starts with: bullets, and numbering schemes (`1.`, `1.1`, `3.1.10`,
//! `a.`, `a)`, `(a)`, `(i)`, `iv.`, `Part 1`, `PART II`, `Section 3`, `Chapter 2`, `Area 4.`,
//! `Strategic Objective 1:` …).

/// Words that introduce a numbered division or element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Part,
    Section,
    Chapter,
    Article,
    Annex,
    /// "Area 4." or "Priority Area 4".
    Area,
    /// "Strategic Objective 1" or "Objective 1".
    Objective,
    /// "Partnership Goal 3" or "Goal 3".
    Goal,
    /// "Priority Issue 2".
    Issue,
}

impl Keyword {
    /// Divisions of a document (as opposed to elements of its programme).
    pub fn is_division(self) -> bool {
        matches!(self, Self::Part | Self::Section | Self::Chapter | Self::Article | Self::Annex)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `1.`, `1.1`, `3.1.10`
    Decimal,
    LowerAlpha,
    UpperAlpha,
    LowerRoman,
    UpperRoman,
    Keyword(Keyword),
}

/// How a letter or number is punctuated: `a.`, `a)`, `(a)` or bare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Dot,
    Paren,
    Enclosed,
    Bare,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub scheme: Scheme,
    pub style: Style,
    /// Decimal components ("3.1.10" → [3, 1, 10]); a single value for the other schemes.
    pub parts: Vec<u32>,
    /// The marker as the document writes it, without punctuation: "3.1.10", "a", "iv", "II", "4".
    pub label: String,
    /// A lone `i`, `v` or `x` (or upper case) could be a letter or a roman numeral; the classifier
    /// decides from the list it is in.
    pub ambiguous: bool,
}

impl Marker {
    pub fn value(&self) -> u32 {
        self.parts.last().copied().unwrap_or(0)
    }

    /// Same scheme and punctuation: siblings in one list.
    pub fn same_kind(&self, other: &Marker) -> bool {
        self.scheme == other.scheme && self.style == other.style
    }

    /// The label of the next sibling: "3.1.2" after "3.1.1", "b" after "a", "iii" after "ii".
    pub fn next_label(&self) -> String {
        let next = self.value().saturating_add(1);
        match self.scheme {
            Scheme::Decimal => {
                let mut parts = self.parts.clone();
                if let Some(last) = parts.last_mut() {
                    *last = next;
                }
                parts.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
            }
            Scheme::LowerAlpha => letter(next).to_string(),
            Scheme::UpperAlpha => letter(next).to_ascii_uppercase().to_string(),
            Scheme::LowerRoman => roman(next).to_lowercase(),
            Scheme::UpperRoman => roman(next),
            Scheme::Keyword(_) => next.to_string(),
        }
    }

    /// The next sibling written as the document would write it ("3.1.2", "b)", "(iii)", "Area 5.").
    pub fn next_written(&self, keyword_word: &str) -> String {
        let label = self.next_label();
        match (self.scheme, self.style) {
            (Scheme::Keyword(_), _) => format!("{keyword_word} {label}"),
            (_, Style::Dot) => format!("{label}."),
            (_, Style::Paren) => format!("{label})"),
            (_, Style::Enclosed) => format!("({label})"),
            (_, Style::Bare) => label,
        }
    }
}

fn letter(n: u32) -> char {
    char::from_u32(u32::from(b'a') + n.saturating_sub(1).min(25)).unwrap_or('z')
}

/// Upper-case roman numeral for 1..=3999 (larger values saturate; documents do not go there).
pub fn roman(mut n: u32) -> String {
    const TABLE: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    n = n.min(3999);
    let mut out = String::new();
    for (value, digits) in TABLE {
        while n >= value {
            out.push_str(digits);
            n -= value;
        }
    }
    out
}

/// The value of a roman numeral (either case), only when it is written canonically.
pub fn parse_roman(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    let upper = s.to_ascii_uppercase();
    let mut total = 0u32;
    let mut prev = 0u32;
    for c in upper.chars().rev() {
        let v = match c {
            'I' => 1,
            'V' => 5,
            'X' => 10,
            'L' => 50,
            'C' => 100,
            _ => return None,
        };
        if v < prev {
            total = total.checked_sub(v)?;
        } else {
            total += v;
            prev = v;
        }
    }
    (total > 0 && roman(total) == upper).then_some(total)
}

fn number_word(s: &str) -> Option<u32> {
    const WORDS: [&str; 12] =
        ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    let lower = s.to_lowercase();
    WORDS.iter().position(|w| *w == lower).and_then(|i| u32::try_from(i + 1).ok())
}

/// A line split into its leading bullet, its marker and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub bullet: bool,
    pub marker: Option<Marker>,
    pub rest: &'a str,
    /// The keyword as written ("PART", "Area"), for re-writing the next marker.
    pub keyword_word: &'a str,
}

const BULLETS: &[char] = &['•', '●', '▪', '■', '◦', '○', '·', '►', '➢', '\u{f0b7}', '\u{f0a7}', '✓', '∙', '‣', '⁃'];
const DASHES: &[char] = &['-', '–', '—', '*'];

/// Strips leading bullets; returns whether there was one.
pub fn strip_bullets(line: &str) -> (bool, &str) {
    let mut rest = line.trim_start();
    let mut bullet = false;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        let is_bullet = BULLETS.contains(&c) || (DASHES.contains(&c) && after.starts_with(char::is_whitespace));
        if !is_bullet {
            break;
        }
        bullet = true;
        rest = after.trim_start();
    }
    (bullet, rest)
}

/// Parses the bullet and marker a line starts with.
pub fn parse(line: &str) -> Parsed<'_> {
    let (bullet, rest) = strip_bullets(line);
    if let Some((marker, rest, word)) = keyword_marker(rest) {
        return Parsed { bullet, marker: Some(marker), rest, keyword_word: word };
    }
    if let Some((marker, rest)) = plain_marker(rest) {
        return Parsed { bullet, marker: Some(marker), rest, keyword_word: "" };
    }
    Parsed { bullet, marker: None, rest, keyword_word: "" }
}

fn split_word(s: &str) -> (&str, &str) {
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn skip_separators(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ':' | '–' | '—' | '-' | ')'))
}

fn keyword_marker(s: &str) -> Option<(Marker, &str, &str)> {
    let (first, after_first) = split_word(s);
    let first_clean = first.trim_end_matches([':', '.']).to_lowercase();
    let (second, after_second) = split_word(after_first.trim_start());
    let second_clean = second.trim_end_matches([':', '.']).to_lowercase();
    let (keyword, number_part, word_len) = match (first_clean.as_str(), second_clean.as_str()) {
        ("strategic", "objective" | "objectives") => {
            (Keyword::Objective, after_second, first.len() + after_first.len() - after_second.len())
        }
        ("partnership", "goal") => (Keyword::Goal, after_second, first.len() + after_first.len() - after_second.len()),
        ("priority", "issue") => (Keyword::Issue, after_second, first.len() + after_first.len() - after_second.len()),
        ("priority", "area") => (Keyword::Area, after_second, first.len() + after_first.len() - after_second.len()),
        ("part", _) => (Keyword::Part, after_first, first.len()),
        ("section", _) => (Keyword::Section, after_first, first.len()),
        ("chapter", _) => (Keyword::Chapter, after_first, first.len()),
        ("article", _) => (Keyword::Article, after_first, first.len()),
        ("annex" | "appendix", _) => (Keyword::Annex, after_first, first.len()),
        ("area", _) => (Keyword::Area, after_first, first.len()),
        ("objective", _) => (Keyword::Objective, after_first, first.len()),
        ("goal", _) => (Keyword::Goal, after_first, first.len()),
        _ => return None,
    };
    let (token, after_token) = split_word(number_part.trim_start());
    let token_clean = token.trim_end_matches(['.', ':', ')', '–', '—', ',']);
    let token_clean = token_clean.strip_suffix('-').unwrap_or(token_clean);
    let (parts, label) = if let Some(parts) = decimal_parts(token_clean) {
        (parts, token_clean.to_owned())
    } else if let Some(v) = parse_roman(token_clean).filter(|_| token_clean.chars().all(|c| c.is_ascii_uppercase())) {
        (vec![v], token_clean.to_owned())
    } else if let Some(v) = number_word(token_clean) {
        (vec![v], v.to_string())
    } else if keyword == Keyword::Annex && token_clean.len() == 1 && token_clean.chars().all(|c| c.is_ascii_uppercase())
    {
        let v = u32::from(token_clean.bytes().next().unwrap_or(b'A').saturating_sub(b'A')) + 1;
        (vec![v], token_clean.to_owned())
    } else {
        return None;
    };
    let rest = skip_separators(after_token);
    // "Section 3 of the agreement says …" is prose, not a heading.
    if keyword.is_division() && rest.chars().next().is_some_and(char::is_lowercase) {
        return None;
    }
    let marker = Marker { scheme: Scheme::Keyword(keyword), style: Style::Bare, parts, label, ambiguous: false };
    Some((marker, rest, s.get(..word_len).unwrap_or("")))
}

fn decimal_parts(token: &str) -> Option<Vec<u32>> {
    if token.is_empty() || token.len() > 24 {
        return None;
    }
    let mut parts = Vec::new();
    for p in token.split('.') {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parts.push(p.parse().ok()?);
    }
    Some(parts)
}

fn plain_marker(s: &str) -> Option<(Marker, &str)> {
    let (token, after) = split_word(s);
    if token.is_empty() {
        return None;
    }
    let rest = after.trim_start();
    // "(a)", "(iv)", "(1)"
    if let Some(inner) = token.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        return alnum_marker(inner, Style::Enclosed).map(|m| (m, rest));
    }
    // "a)", "iv)", "1)"
    if let Some(inner) = token.strip_suffix(')') {
        if !inner.contains('(') {
            return alnum_marker(inner, Style::Paren).map(|m| (m, rest));
        }
        return None;
    }
    // "1.", "1.1", "3.1.10", "1.1."
    let dotted = token.strip_suffix('.');
    let core = dotted.unwrap_or(token);
    if let Some(parts) = decimal_parts(core) {
        let first = parts.first().copied().unwrap_or(0);
        // Years and amounts are not paragraph numbers; a bare "1 Text" only counts before an upper-case heading.
        let plausible = first >= 1 && (parts.len() > 1 || dotted.is_some() || crate::text::is_upper(rest));
        if !plausible || rest.is_empty() && parts.len() == 1 && dotted.is_none() {
            return None;
        }
        let style = if dotted.is_some() { Style::Dot } else { Style::Bare };
        let marker = Marker { scheme: Scheme::Decimal, style, label: core.to_owned(), parts, ambiguous: false };
        return Some((marker, rest));
    }
    // "a.", "B.", "iv.", "IV."
    if let Some(inner) = dotted
        && inner.chars().all(|c| c.is_ascii_alphabetic())
        && !rest.is_empty()
    {
        return alnum_marker(inner, Style::Dot).map(|m| (m, rest));
    }
    None
}

fn alnum_marker(inner: &str, style: Style) -> Option<Marker> {
    if let Some(parts) = decimal_parts(inner).filter(|p| p.len() == 1) {
        return Some(Marker { scheme: Scheme::Decimal, style, label: inner.to_owned(), parts, ambiguous: false });
    }
    let mut chars = inner.chars();
    let c = chars.next()?;
    if chars.next().is_none() && c.is_ascii_alphabetic() {
        let value = u32::from(c.to_ascii_lowercase() as u8 - b'a') + 1;
        let ambiguous = matches!(c.to_ascii_lowercase(), 'i' | 'v' | 'x');
        let scheme = if c.is_ascii_lowercase() { Scheme::LowerAlpha } else { Scheme::UpperAlpha };
        return Some(Marker { scheme, style, parts: vec![value], label: inner.to_owned(), ambiguous });
    }
    let value = parse_roman(inner)?;
    let scheme = if inner.chars().all(|c| c.is_ascii_lowercase()) {
        Scheme::LowerRoman
    } else if inner.chars().all(|c| c.is_ascii_uppercase()) {
        Scheme::UpperRoman
    } else {
        return None;
    };
    Some(Marker { scheme, style, parts: vec![value], label: inner.to_owned(), ambiguous: false })
}

/// Re-reads an ambiguous single letter as a roman numeral (`i` → 1, `v` → 5, `x` → 10).
pub fn as_roman(marker: &Marker) -> Marker {
    let lower = marker.label.chars().all(|c| c.is_ascii_lowercase());
    let value = parse_roman(&marker.label).unwrap_or(1);
    Marker {
        scheme: if lower { Scheme::LowerRoman } else { Scheme::UpperRoman },
        parts: vec![value],
        ambiguous: false,
        ..marker.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(line: &str) -> Option<(Scheme, String, String)> {
        let p = parse(line);
        p.marker.map(|m| (m.scheme, m.label, p.rest.to_owned()))
    }

    #[test]
    fn schemes() {
        assert_eq!(label("- 3.1.10 Other defence").map(|l| l.1), Some("3.1.10".into()));
        assert_eq!(label("1. POLITICAL").map(|l| l.0), Some(Scheme::Decimal));
        assert_eq!(label("a) item").map(|l| (l.0, l.1)), Some((Scheme::LowerAlpha, "a".into())));
        assert_eq!(label("(ii) item").map(|l| (l.0, l.1)), Some((Scheme::LowerRoman, "ii".into())));
        assert_eq!(
            label("PART II – GOALS").map(|l| (l.0, l.1, l.2)),
            Some((Scheme::Keyword(Keyword::Part), "II".into(), "GOALS".into()))
        );
        assert_eq!(label("Part 1 – THE").map(|l| l.1), Some("1".into()));
        assert_eq!(label("Section 3 Priority").map(|l| l.0), Some(Scheme::Keyword(Keyword::Section)));
        assert_eq!(label("Section 3 of the text").map(|l| l.0), None);
        assert_eq!(label("Area 4. Cyber").map(|l| (l.1, l.2)), Some(("4".into(), "Cyber".into())));
        assert_eq!(label("- b. LONGSTANDING").map(|l| l.1), Some("b".into()));
        assert_eq!(label("a. Strategic Objective 1: Japan").map(|l| l.1), Some("a".into()));
        assert_eq!(label("Strategic Objective 1: Japan").map(|l| (l.1, l.2)), Some(("1".into(), "Japan".into())));
        assert_eq!(label("2023 – 2026"), None);
        assert_eq!(label("16 Goals in 4"), None);
        assert_eq!(label("- On CYBER"), None);
        assert!(parse("- On CYBER").bullet);
    }

    #[test]
    fn next_labels() {
        let m = parse("3.1.9 x").marker.unwrap();
        assert_eq!(m.next_label(), "3.1.10");
        assert_eq!(parse("(iii) x").marker.unwrap().next_written(""), "(iv)");
        assert_eq!(parse("PART II GOALS").marker.unwrap().next_label(), "3");
        assert_eq!(parse_roman("IIII"), None);
    }
}
