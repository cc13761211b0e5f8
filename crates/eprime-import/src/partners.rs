//! Partner nations by the names documents use, mapped to ISO 3166 alpha-3 codes.

use eprime_domain::PartnerCode;

/// (name as lower-case words, code, canonical name). A `None` code names something that must not be
/// read as a partner ("North Korea" is not "Korea").
const TABLE: &[(&str, Option<&str>, &str)] = &[
    ("japan", Some("JPN"), "Japan"),
    ("republic of korea", Some("KOR"), "Republic of Korea"),
    ("south korea", Some("KOR"), "Republic of Korea"),
    ("korea", Some("KOR"), "Republic of Korea"),
    ("north korea", None, ""),
    ("democratic people's republic of korea", None, ""),
    ("dprk", None, ""),
    ("australia", Some("AUS"), "Australia"),
    ("new zealand", Some("NZL"), "New Zealand"),
    ("mongolia", Some("MNG"), "Mongolia"),
    ("switzerland", Some("CHE"), "Switzerland"),
    ("ireland", Some("IRL"), "Ireland"),
    ("northern ireland", None, ""),
    ("austria", Some("AUT"), "Austria"),
    ("malta", Some("MLT"), "Malta"),
    ("ukraine", Some("UKR"), "Ukraine"),
    ("georgia", Some("GEO"), "Georgia"),
    ("moldova", Some("MDA"), "Moldova"),
    ("republic of moldova", Some("MDA"), "Moldova"),
    ("jordan", Some("JOR"), "Jordan"),
    ("tunisia", Some("TUN"), "Tunisia"),
    ("morocco", Some("MAR"), "Morocco"),
    ("egypt", Some("EGY"), "Egypt"),
    ("israel", Some("ISR"), "Israel"),
    ("mauritania", Some("MRT"), "Mauritania"),
    ("algeria", Some("DZA"), "Algeria"),
    ("bahrain", Some("BHR"), "Bahrain"),
    ("kuwait", Some("KWT"), "Kuwait"),
    ("qatar", Some("QAT"), "Qatar"),
    ("united arab emirates", Some("ARE"), "United Arab Emirates"),
    ("uae", Some("ARE"), "United Arab Emirates"),
    ("iraq", Some("IRQ"), "Iraq"),
    ("colombia", Some("COL"), "Colombia"),
    ("pakistan", Some("PAK"), "Pakistan"),
    ("kazakhstan", Some("KAZ"), "Kazakhstan"),
    ("uzbekistan", Some("UZB"), "Uzbekistan"),
    ("armenia", Some("ARM"), "Armenia"),
    ("azerbaijan", Some("AZE"), "Azerbaijan"),
    ("serbia", Some("SRB"), "Serbia"),
    ("bosnia and herzegovina", Some("BIH"), "Bosnia and Herzegovina"),
    ("tajikistan", Some("TJK"), "Tajikistan"),
    ("turkmenistan", Some("TKM"), "Turkmenistan"),
    ("kyrgyzstan", Some("KGZ"), "Kyrgyzstan"),
    ("kyrgyz republic", Some("KGZ"), "Kyrgyzstan"),
    ("afghanistan", Some("AFG"), "Afghanistan"),
    ("belarus", Some("BLR"), "Belarus"),
];

/// Whether a lower-case word is (part of) a partner's name; such words keep their capital.
pub fn is_partner_word(word: &str) -> bool {
    TABLE
        .iter()
        .filter(|(_, code, _)| code.is_some())
        .any(|(name, _, _)| name.split(' ').any(|w| w == word && w.len() > 3))
}

/// One partner named in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub code: &'static str,
    pub name: &'static str,
}

/// Every partner named in `text`, in order, longest name first at each position.
pub fn mentions(text: &str) -> Vec<Mention> {
    let words = crate::text::words_lower(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let mut best: Option<(usize, Option<&'static str>, &'static str)> = None;
        let Some(word) = words.get(i) else { break };
        for (name, code, canonical) in TABLE {
            // Cheap first-word test before the full comparison.
            let first = name.split(' ').next().unwrap_or("");
            if word != first && word.strip_suffix("'s") != Some(first) {
                continue;
            }
            let n = name.split(' ').count();
            if best.is_some_and(|(len, _, _)| len >= n) {
                continue;
            }
            let matches = name
                .split(' ')
                .enumerate()
                .all(|(k, w)| words.get(i + k).is_some_and(|x| x == w || x.strip_suffix("'s") == Some(w)));
            if matches {
                best = Some((n, *code, canonical));
            }
        }
        match best {
            Some((n, code, canonical)) => {
                if let Some(code) = code {
                    out.push(Mention { code, name: canonical });
                }
                i += n;
            }
            None => i += 1,
        }
    }
    out
}

/// The partner a text is about: the first named in `title`, else the one named most often in `body`.
pub fn detect(title: &str, body: &str) -> Option<Mention> {
    if let Some(m) = mentions(title).into_iter().next() {
        return Some(m);
    }
    let all = mentions(body);
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for m in &all {
        *counts.entry(m.code).or_default() += 1;
    }
    // Most often named; ties go to the one named first.
    let mut best: Option<(usize, &Mention)> = None;
    for m in &all {
        let count = counts.get(m.code).copied().unwrap_or(0);
        if best.is_none_or(|(c, _)| count > c) {
            best = Some((count, m));
        }
    }
    best.map(|(_, m)| m.clone())
}

/// The canonical name of a partner code, when it is in the table.
pub fn name_of(code: &PartnerCode) -> Option<&'static str> {
    TABLE.iter().find(|(_, c, _)| *c == Some(code.as_str())).map(|(_, _, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_codes() {
        let codes: Vec<_> = mentions("Japan and the Republic of Korea; South Korea, not North Korea's programme; UAE")
            .into_iter()
            .map(|m| m.code)
            .collect();
        assert_eq!(codes, vec!["JPN", "KOR", "KOR", "ARE"]);
        assert_eq!(detect("Relations with Japan", "Moldova Georgia").map(|m| m.code), Some("JPN"));
    }
}
