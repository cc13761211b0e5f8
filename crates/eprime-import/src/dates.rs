//! Dates as documents write them ("6 May 2014", "13 Apr. 2013", "May 7, 2014", "2014-05-06") and
//! programme periods ("2023 – 2026", "2023-2026", "from 2023 to 2026").

use time::{Date, Month};

/// Serde helpers writing dates as "YYYY-MM-DD".
pub mod serde_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::format_description::BorrowedFormatItem;
    use time::macros::format_description;

    const FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text, FORMAT).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
            match date {
                Some(date) => super::serialize(date, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
            let text = Option::<String>::deserialize(d)?;
            text.map(|t| Date::parse(&t, FORMAT).map_err(serde::de::Error::custom)).transpose()
        }
    }
}

fn month(word: &str) -> Option<Month> {
    let w = word.trim_end_matches('.').to_lowercase();
    let m = match w.as_str() {
        "january" | "jan" | "janvier" | "janv" => Month::January,
        "february" | "feb" | "février" | "fevrier" | "févr" => Month::February,
        "march" | "mar" | "mars" => Month::March,
        "april" | "apr" | "avril" | "avr" => Month::April,
        "may" | "mai" => Month::May,
        "june" | "jun" | "juin" => Month::June,
        "july" | "jul" | "juillet" | "juil" => Month::July,
        "august" | "aug" | "août" | "aout" => Month::August,
        "september" | "sep" | "sept" | "septembre" => Month::September,
        "october" | "oct" | "octobre" => Month::October,
        "november" | "nov" | "novembre" => Month::November,
        "december" | "dec" | "décembre" | "decembre" | "déc" => Month::December,
        _ => return None,
    };
    Some(m)
}

fn day(word: &str) -> Option<u8> {
    let digits = word
        .trim_end_matches(',')
        .trim_end_matches("st")
        .trim_end_matches("nd")
        .trim_end_matches("rd")
        .trim_end_matches("th");
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn year(word: &str) -> Option<i32> {
    let digits = word.trim_end_matches(|c: char| !c.is_ascii_digit());
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|y| (1900..=2200).contains(y))
}

fn iso(word: &str) -> Option<Date> {
    let w = word.trim_matches(|c: char| !c.is_ascii_digit());
    let mut parts = w.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// The first calendar date written in `text`, if any.
pub fn find_date(text: &str) -> Option<Date> {
    let words: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || c == '(' || c == ')').filter(|w| !w.is_empty()).collect();
    for (i, w) in words.iter().enumerate() {
        if let Some(date) = iso(w) {
            return Some(date);
        }
        let next = words.get(i + 1).copied().unwrap_or("");
        let next2 = words.get(i + 2).copied().unwrap_or("");
        // "6 May 2014"
        if let (Some(d), Some(m), Some(y)) = (day(w), month(next), year(next2))
            && let Ok(date) = Date::from_calendar_date(y, m, d)
        {
            return Some(date);
        }
        // "May 7, 2014"
        if let (Some(m), Some(d), Some(y)) = (month(w.trim_end_matches(',')), day(next), year(next2))
            && let Ok(date) = Date::from_calendar_date(y, m, d)
        {
            return Some(date);
        }
    }
    None
}

/// Whether a line is little more than a date (a web page's dateline: "• 13 Apr. 2013 -",
/// "Last updated: 12 Sep. 2018 12:49", "Wednesday, May 7, 2014").
pub fn is_dateline(text: &str) -> bool {
    if find_date(text).is_none() {
        return false;
    }
    let words = text.split_whitespace().filter(|w| w.chars().any(|c| c.is_alphabetic())).count();
    words <= 6 && text.chars().count() <= 60
}

/// A programme period written as two years: "2023 – 2026" is 2023-01-01 to 2026-12-31.
pub fn find_period(text: &str) -> Option<(Date, Date)> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i + 4 <= chars.len() {
        if let Some((from, end)) = year_at(&chars, i) {
            let mut j = end;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let mut joined = false;
            if j < chars.len() && matches!(chars[j], '-' | '–' | '—' | '/') {
                j += 1;
                joined = true;
            } else if chars.get(j..j + 2).is_some_and(|s| s == ['t', 'o']) {
                j += 2;
                joined = true;
            }
            while joined && j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            if joined && let Some((to, end2)) = year_at(&chars, j) {
                // "2014-05-06" is a date, not a period.
                let is_date = chars.get(end2).is_some_and(|c| *c == '-');
                if !is_date && to > from && to - from <= 10 {
                    let first = Date::from_calendar_date(from, Month::January, 1).ok()?;
                    let last = Date::from_calendar_date(to, Month::December, 31).ok()?;
                    return Some((first, last));
                }
            }
            i = end;
        } else {
            i += 1;
        }
    }
    None
}

/// A four-digit year starting at `i` and not part of a longer number.
fn year_at(chars: &[char], i: usize) -> Option<(i32, usize)> {
    if i > 0 && chars[i - 1].is_ascii_digit() {
        return None;
    }
    let digits = chars.get(i..i + 4)?;
    if !digits.iter().all(|c| c.is_ascii_digit()) || chars.get(i + 4).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let y: i32 = digits.iter().collect::<String>().parse().ok()?;
    (1950..=2150).contains(&y).then_some((y, i + 4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn reads_the_shapes_documents_use() {
        assert_eq!(find_date("Signed in Brussels on 6 May 2014 in two"), Some(date!(2014 - 05 - 06)));
        assert_eq!(find_date("  • 13 Apr. 2013 -"), Some(date!(2013 - 04 - 13)));
        assert_eq!(find_date("Wednesday, May 7, 2014"), Some(date!(2014 - 05 - 07)));
        assert_eq!(find_date("on 2014-05-06."), Some(date!(2014 - 05 - 06)));
        assert_eq!(find_date("the 2nd of nothing"), None);
        assert_eq!(find_date("31 February 2014"), None);
    }

    #[test]
    fn periods_are_whole_years() {
        assert_eq!(find_period("for 2023 – 2026"), Some((date!(2023 - 01 - 01), date!(2026 - 12 - 31))));
        assert_eq!(find_period("from 2019 to 2021"), Some((date!(2019 - 01 - 01), date!(2021 - 12 - 31))));
        assert_eq!(find_period("on 2014-05-06"), None);
        assert_eq!(find_period("12345-2020"), None);
    }
}
