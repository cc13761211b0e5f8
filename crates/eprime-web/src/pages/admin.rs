//! `/admin/accounts`: NATO administrators manage every account; a partner administrator its own
//! nation's partner officers and administrators, and sees no other account.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use eprime_domain::access::{account_scope, may_manage_account};
use eprime_domain::{AccountScope, FieldError, OrgCode, PartnerCode, Role, RoleBinding, ValidationErrors, password};
use eprime_server::AppState;
use eprime_server::passwords;
use eprime_store::{NewUser, StoreError, UserFilter};
use serde::Deserialize;

use crate::form::FormData;
use crate::page::{PageError, PageResult, render_status, see_other};
use crate::session::Viewer;
use crate::views::{Chrome, date, role_label};

pub struct AccountRow {
    pub username: String,
    pub display_name: String,
    pub role: &'static str,
    pub bound_to: String,
    pub disabled: bool,
    pub created: String,
    pub is_self: bool,
}

#[derive(Default)]
pub struct NewValues {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub partner: String,
    pub organisation: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    scope_label: String,
    accounts: Vec<AccountRow>,
    roles: Vec<(&'static str, &'static str)>,
    /// The partner a partner administrator creates accounts for (fixed).
    fixed_partner: Option<String>,
    values: NewValues,
    errors: Vec<FieldError>,
    notice: Option<String>,
    problem: Option<String>,
    /// An account whose row shows an error (username, message).
    row_error: Option<(String, String)>,
}

impl AdminPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    fn has_error(&self, field: &str) -> bool {
        self.error(field).is_some()
    }

    fn row_error_for(&self, username: &str) -> Option<&str> {
        self.row_error.as_ref().filter(|(u, _)| u == username).map(|(_, m)| m.as_str())
    }
}

#[derive(Deserialize)]
pub struct AdminQuery {
    notice: Option<String>,
}

struct Feedback {
    values: NewValues,
    errors: Vec<FieldError>,
    notice: Option<String>,
    problem: Option<String>,
    row_error: Option<(String, String)>,
}

impl Feedback {
    fn none() -> Self {
        Self { values: NewValues::default(), errors: Vec::new(), notice: None, problem: None, row_error: None }
    }
}

fn manager<'a>(
    viewer: &'a Viewer,
    form: Option<&FormData>,
) -> Result<(&'a eprime_domain::Principal, AccountScope), PageError> {
    let principal = match form {
        Some(form) => crate::csrf::check(viewer, form, "/admin/accounts")?,
        None => viewer.principal().ok_or_else(|| PageError::SignIn { next: "/admin/accounts".to_owned() })?,
    };
    let scope = account_scope(principal).map_err(|r| PageError::Forbidden(r.0))?;
    Ok((principal, scope))
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    scope: &AccountScope,
    status: StatusCode,
    feedback: Feedback,
) -> PageResult {
    let filter = match scope {
        AccountScope::All => UserFilter::default(),
        AccountScope::Partner(partner) => UserFilter { partner: Some(partner.clone()) },
    };
    let me = viewer.principal().map(|p| p.username.clone()).unwrap_or_default();
    let accounts = state
        .store
        .list_users(&filter)
        .await?
        .into_iter()
        .filter(|u| scope.covers(&u.binding))
        .map(|u| AccountRow {
            is_self: u.username == me,
            bound_to: [u.binding.partner.map(|p| p.to_string()), u.binding.organisation.map(|o| o.to_string())]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            username: u.username,
            display_name: u.display_name,
            role: role_label(u.binding.role),
            disabled: u.disabled,
            created: date(u.created_at.date()),
        })
        .collect();
    let (roles, fixed_partner, scope_label) = match scope {
        AccountScope::All => {
            (Role::ALL.iter().map(|r| (r.as_str(), role_label(*r))).collect(), None, "every account".to_owned())
        }
        AccountScope::Partner(partner) => (
            [Role::PartnerOfficer, Role::PartnerAdmin].iter().map(|r| (r.as_str(), role_label(*r))).collect(),
            Some(partner.to_string()),
            format!("the accounts of {partner}"),
        ),
    };
    let page = AdminPage {
        chrome: Chrome::new(viewer, "admin"),
        scope_label,
        accounts,
        roles,
        fixed_partner,
        values: feedback.values,
        errors: feedback.errors,
        notice: feedback.notice,
        problem: feedback.problem,
        row_error: feedback.row_error,
    };
    Ok(render_status(status, &page))
}

pub async fn list(State(state): State<AppState>, viewer: Viewer, Query(query): Query<AdminQuery>) -> PageResult {
    let (_, scope) = manager(&viewer, None)?;
    let notice = match query.notice.as_deref() {
        Some("created") => Some("The account was created.".to_owned()),
        Some("disabled") => Some("The account was disabled; its sessions have ended.".to_owned()),
        Some("enabled") => Some("The account was enabled.".to_owned()),
        Some("password") => Some("The password was changed; the account's sessions have ended.".to_owned()),
        _ => None,
    };
    page(&state, &viewer, &scope, StatusCode::OK, Feedback { notice, ..Feedback::none() }).await
}

async fn hash(password: String) -> Result<String, PageError> {
    passwords::hash(password).await.and_then(Result::ok).ok_or(PageError::Internal)
}

pub async fn create(State(state): State<AppState>, viewer: Viewer, form: FormData) -> PageResult {
    let (actor, scope) = manager(&viewer, Some(&form))?;
    let values = NewValues {
        username: form.get("username").unwrap_or_default().to_owned(),
        display_name: form.get("display_name").unwrap_or_default().to_owned(),
        role: form.get("role").unwrap_or_default().to_owned(),
        partner: match &scope {
            AccountScope::Partner(p) => p.to_string(),
            AccountScope::All => form.get("partner").unwrap_or_default().to_uppercase(),
        },
        organisation: form.get("organisation").unwrap_or_default().to_uppercase(),
    };
    let password = form.raw("password").to_owned();
    let mut errors = ValidationErrors::default();
    let parsed_role = Role::parse(&values.role);
    // A participant's account is named by its e-mail address; every other by a plain username.
    let named_as = parsed_role.as_ref().map_or(Role::PartnerOfficer, |role| *role);
    errors.check(password::check_account_name(&values.username, named_as));
    if values.display_name.is_empty() || values.display_name.chars().count() > 120 {
        errors.push(FieldError::new("display_name", "must be 1–120 characters"));
    }
    let role = errors.check(parsed_role);
    let partner =
        errors.check(Some(values.partner.as_str()).filter(|p| !p.is_empty()).map(PartnerCode::parse).transpose());
    let organisation = errors.check(
        Some(values.organisation.as_str())
            .filter(|o| !o.is_empty())
            .map(|o| OrgCode::parse(o).map_err(|e| e.at("organisation")))
            .transpose(),
    );
    let binding = match (role, partner, organisation) {
        (Some(role), Some(partner), Some(organisation)) => errors.check(RoleBinding::new(role, partner, organisation)),
        _ => None,
    };
    errors.check(password::check(&password, &values.username));
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let binding = match (errors.into_result(), binding) {
        (Ok(()), Some(binding)) => binding,
        (Err(errors), _) => {
            return page(&state, &viewer, &scope, invalid, Feedback { values, errors: errors.0, ..Feedback::none() })
                .await;
        }
        (Ok(()), None) => return Err(PageError::BadRequest("invalid account".into())),
    };
    if let Err(refusal) = may_manage_account(actor, &binding) {
        let errors = vec![FieldError::new("role", refusal.0)];
        return page(&state, &viewer, &scope, StatusCode::FORBIDDEN, Feedback { values, errors, ..Feedback::none() })
            .await;
    }
    let password_hash = hash(password).await?;
    let new = NewUser {
        username: values.username.clone(),
        display_name: values.display_name.clone(),
        binding,
        password_hash,
    };
    match state.store.create_user(Some(actor), new).await {
        Ok(_) => Ok(see_other("/admin/accounts?notice=created")),
        Err(StoreError::Conflict(reason)) => {
            let errors = vec![FieldError::new("username", reason)];
            page(&state, &viewer, &scope, StatusCode::CONFLICT, Feedback { values, errors, ..Feedback::none() }).await
        }
        Err(StoreError::Invalid(errors)) => {
            page(&state, &viewer, &scope, invalid, Feedback { values, errors: errors.0, ..Feedback::none() }).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /admin/accounts/{username}` with `action` = `disable`, `enable` or `password` (+ `password`).
pub async fn change(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(username): Path<String>,
    form: FormData,
) -> PageResult {
    let (actor, scope) = manager(&viewer, Some(&form))?;
    let target = state
        .store
        .user_by_username(&username)
        .await?
        .filter(|u| scope.covers(&u.binding))
        .ok_or(PageError::NotFound)?;
    may_manage_account(actor, &target.binding).map_err(|r| PageError::Forbidden(r.0))?;
    let row_problem = |message: String| Feedback { row_error: Some((username.clone(), message)), ..Feedback::none() };
    match form.get("action") {
        Some(action @ ("disable" | "enable")) => {
            let disable = action == "disable";
            if disable && target.username == actor.username {
                let feedback = row_problem("You cannot disable your own account.".to_owned());
                return page(&state, &viewer, &scope, StatusCode::CONFLICT, feedback).await;
            }
            state.store.set_user_disabled(Some(actor), &username, disable).await?;
            Ok(see_other(&format!("/admin/accounts?notice={action}d")))
        }
        Some("password") => {
            let password = form.raw("password").to_owned();
            if let Err(error) = password::check(&password, &username) {
                let feedback = row_problem(error.message);
                return page(&state, &viewer, &scope, StatusCode::UNPROCESSABLE_ENTITY, feedback).await;
            }
            let hash = hash(password).await?;
            state.store.set_user_password(Some(actor), &username, hash).await?;
            Ok(see_other("/admin/accounts?notice=password"))
        }
        _ => Err(PageError::BadRequest("choose disable, enable or a new password".into())),
    }
}
