//! Calendar dates as the API writes them: `YYYY-MM-DD`.

use time::Date;
use time::macros::format_description;

use crate::error::FieldError;

/// Parses `YYYY-MM-DD`, refusing impossible dates (30 February) and years outside 1900–2199,
/// which in this domain are typing mistakes rather than plans.
pub fn parse_date(field: &str, raw: &str) -> Result<Date, FieldError> {
    let format = format_description!("[year]-[month]-[day]");
    let date = Date::parse(raw.trim(), format)
        .map_err(|_| FieldError::new(field, format!("`{raw}` is not a date in the form YYYY-MM-DD")))?;
    if !(1900..2200).contains(&date.year()) {
        return Err(FieldError::new(field, format!("{date} is outside the years 1900–2199")));
    }
    Ok(date)
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("d", "2026-12-01").is_ok());
        for bad in ["2026-02-30", "01/12/2026", "2026-1-1", "", "1815-06-18"] {
            assert!(parse_date("d", bad).is_err(), "{bad} accepted");
        }
        assert_eq!(format_date(parse_date("d", "2014-05-06").unwrap()), "2014-05-06");
    }
}
