//! What every page shows around its content (the "chrome"), and the small formatting helpers
//! the templates use. Templates get plain strings: all the deciding happens in Rust.

use eprime_domain::access::account_scope;
use eprime_domain::{Activity, ActivityKind, ActivityStatus, Role};
use time::Date;

use crate::session::Viewer;

/// The header, navigation and footer of a page.
pub struct Chrome {
    pub user: Option<UserChip>,
    /// The viewer's CSRF token, for the sign-out form.
    pub csrf: String,
    pub css: &'static str,
    pub js: &'static str,
    /// Which navigation entry is the current page: "home", "partnership", "menu", "inbox",
    /// "watches", "admin", "login".
    pub section: &'static str,
    pub manages_accounts: bool,
    /// The viewer's own partnership, when bound to one.
    pub own_partner: Option<String>,
}

pub struct UserChip {
    pub username: String,
    pub role: &'static str,
    /// Unread notifications in the inbox.
    pub unread: u64,
}

impl Chrome {
    pub fn new(viewer: &Viewer, section: &'static str) -> Self {
        let principal = viewer.principal();
        Self {
            user: principal.map(|p| UserChip {
                username: p.username.clone(),
                role: role_label(p.role()),
                unread: viewer.unread,
            }),
            csrf: viewer.csrf(),
            css: crate::assets::CSS_URL.as_str(),
            js: crate::assets::JS_URL.as_str(),
            section,
            manages_accounts: principal.is_some_and(|p| account_scope(p).is_ok()),
            own_partner: principal.and_then(|p| p.binding.partner.as_ref()).map(|p| p.to_string()),
        }
    }

    /// For error pages, which do not know the viewer.
    pub fn plain() -> Self {
        Self {
            user: None,
            csrf: String::new(),
            css: crate::assets::CSS_URL.as_str(),
            js: crate::assets::JS_URL.as_str(),
            section: "",
            manages_accounts: false,
            own_partner: None,
        }
    }
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::NatoAdmin => "NATO administrator",
        Role::NatoStaff => "NATO staff",
        Role::Auditor => "Auditor",
        Role::PartnerAdmin => "Partner administrator",
        Role::PartnerOfficer => "Partner officer",
        Role::AllyOfficer => "Ally officer",
        Role::Provider => "Provider",
        Role::Participant => "Participant",
    }
}

pub fn status_label(status: ActivityStatus) -> &'static str {
    match status {
        ActivityStatus::Proposed => "Proposed",
        ActivityStatus::Approved => "Approved",
        ActivityStatus::Scheduled => "Scheduled",
        ActivityStatus::InProgress => "In progress",
        ActivityStatus::Completed => "Completed",
        ActivityStatus::Postponed => "Postponed",
        ActivityStatus::Cancelled => "Cancelled",
    }
}

/// The verb on a status button: "Approve", "Schedule", …
pub fn status_action(status: ActivityStatus) -> &'static str {
    match status {
        ActivityStatus::Proposed => "Propose again",
        ActivityStatus::Approved => "Approve",
        ActivityStatus::Scheduled => "Schedule",
        ActivityStatus::InProgress => "Start",
        ActivityStatus::Completed => "Mark completed",
        ActivityStatus::Postponed => "Postpone",
        ActivityStatus::Cancelled => "Cancel activity",
    }
}

pub fn kind_label(kind: ActivityKind) -> String {
    let raw = kind.as_str().replace('_', " ");
    let mut chars = raw.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// "6 May 2014".
pub fn date(date: Date) -> String {
    format!("{} {} {}", date.day(), MONTHS[usize::from(u8::from(date.month())) - 1], date.year())
}

pub fn opt_date(value: Option<Date>) -> String {
    value.map(date).unwrap_or_default()
}

/// "1–3 Dec 2026", "6 May 2014", "from 6 May 2014", or "" when neither is known.
pub fn date_range(start: Option<Date>, end: Option<Date>) -> String {
    match (start, end) {
        (Some(s), Some(e)) if s == e => date(s),
        (Some(s), Some(e)) => format!("{} – {}", date(s), date(e)),
        (Some(s), None) => format!("from {}", date(s)),
        (None, Some(e)) => format!("until {}", date(e)),
        (None, None) => String::new(),
    }
}

/// `YYYY-MM-DD`, as date inputs take it.
pub fn iso(value: Option<Date>) -> String {
    value.map(eprime_domain::dates::format_date).unwrap_or_default()
}

pub fn urlencode(raw: &str) -> String {
    form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// An activity in a list.
pub struct ActivityRow {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub dates: String,
    pub location: String,
    pub partnership: String,
}

impl From<&Activity> for ActivityRow {
    fn from(a: &Activity) -> Self {
        Self {
            id: a.id.to_string(),
            title: a.title.to_string(),
            kind: kind_label(a.kind),
            status: a.status.as_str(),
            status_label: status_label(a.status),
            dates: date_range(a.starts_on, a.ends_on),
            location: a.location.clone().unwrap_or_default(),
            partnership: a.partnership.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_naturally() {
        let d = |s| eprime_domain::dates::parse_date("d", s).unwrap();
        assert_eq!(date(d("2014-05-06")), "6 May 2014");
        assert_eq!(date_range(Some(d("2026-12-01")), Some(d("2026-12-02"))), "1 Dec 2026 – 2 Dec 2026");
        assert_eq!(date_range(None, None), "");
        assert_eq!(kind_label(ActivityKind::TrustFund), "Trust fund");
    }
}
