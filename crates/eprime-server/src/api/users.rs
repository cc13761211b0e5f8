//! Accounts: NATO administrators manage every account; a partner administrator manages its own
//! nation's partner officers and administrators, and sees no other account.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use eprime_domain::access::{account_scope, may_manage_account};
use eprime_domain::{AccountScope, OrgCode, PartnerCode, Role, RoleBinding, ValidationErrors, password};
use eprime_store::{NewUser, StoredUser, UserFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::SignedIn;
use crate::extract::ApiJson;
use crate::passwords;
use crate::problem::{ApiError, ApiResult, Problem};

/// An account as administrators see it.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub partner: Option<PartnerCode>,
    pub organisation: Option<OrgCode>,
    pub disabled: bool,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<StoredUser> for AccountView {
    fn from(user: StoredUser) -> Self {
        Self {
            username: user.username,
            display_name: user.display_name,
            role: user.binding.role,
            partner: user.binding.partner,
            organisation: user.binding.organisation,
            disabled: user.disabled,
            created_at: user.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountRequest {
    /// 3–64 characters of a–z, 0–9, '.', '_' or '-'; for a `participant`, the e-mail address
    /// (lower case) its nominations give, so that it finds them.
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub partner: Option<String>,
    pub organisation: Option<String>,
    /// At least 12 characters, not a common password, not containing the username.
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChangeRequest {
    /// Disable (true) or enable (false) the account; disabling ends its sessions.
    pub disabled: Option<bool>,
    /// A new password (ends the account's sessions).
    pub password: Option<String>,
}

async fn hash(password: String) -> ApiResult<String> {
    passwords::hash(password)
        .await
        .and_then(Result::ok)
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the password could not be hashed"))
}

/// The accounts the caller manages: all of them for a NATO administrator, its own nation's for a
/// partner administrator.
#[utoipa::path(get, path = "/api/v1/users", tag = "session", security(("bearer" = [])),
    responses(
        (status = 200, description = "Accounts the caller manages", body = Vec<AccountView>),
        (status = 403, description = "The caller manages no accounts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(State(state): State<AppState>, SignedIn(actor): SignedIn) -> ApiResult<Json<Vec<AccountView>>> {
    let scope = account_scope(&actor).map_err(eprime_store::StoreError::from)?;
    let filter = match scope {
        AccountScope::All => UserFilter::default(),
        AccountScope::Partner(partner) => UserFilter { partner: Some(partner) },
    };
    let users = state.store.list_users(&filter).await?;
    Ok(Json(users.into_iter().map(AccountView::from).collect()))
}

/// Creates an account. A partner administrator may create only partner officers and partner
/// administrators of its own nation.
#[utoipa::path(post, path = "/api/v1/users", tag = "session", security(("bearer" = [])), request_body = NewAccountRequest,
    responses(
        (status = 201, description = "Created", body = AccountView),
        (status = 403, description = "The caller may not grant this role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The username is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    ApiJson(request): ApiJson<NewAccountRequest>,
) -> ApiResult<Response> {
    account_scope(&actor).map_err(eprime_store::StoreError::from)?;
    let mut errors = ValidationErrors::default();
    let parsed_role = Role::parse(&request.role);
    // A participant's account is named by its e-mail address; every other by a plain username.
    let named_as = parsed_role.as_ref().map_or(Role::PartnerOfficer, |role| *role);
    errors.check(password::check_account_name(&request.username, named_as));
    let display_name = request.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 120 {
        errors.push(eprime_domain::FieldError::new("display_name", "must be 1–120 characters"));
    }
    let role = errors.check(parsed_role);
    let partner = errors.check(request.partner.as_deref().map(PartnerCode::parse).transpose());
    let organisation = errors.check(
        request.organisation.as_deref().map(|o| OrgCode::parse(o).map_err(|e| e.at("organisation"))).transpose(),
    );
    let binding = match (role, partner, organisation) {
        (Some(role), Some(partner), Some(organisation)) => errors.check(RoleBinding::new(role, partner, organisation)),
        _ => None,
    };
    errors.check(password::check(&request.password, &request.username));
    errors.into_result()?;
    let Some(binding) = binding else { return Err(ApiError::bad_request("invalid account")) };
    may_manage_account(&actor, &binding).map_err(eprime_store::StoreError::from)?;
    let password_hash = hash(request.password).await?;
    let user = state
        .store
        .create_user(Some(&actor), NewUser { username: request.username, display_name, binding, password_hash })
        .await?;
    Ok((StatusCode::CREATED, Json(AccountView::from(user))).into_response())
}

/// Disables, enables or resets the password of an account the caller manages. Accounts outside
/// the caller's scope answer 404.
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "session", security(("bearer" = [])),
    params(("username" = String, Path, description = "The account's username")),
    request_body = AccountChangeRequest,
    responses(
        (status = 200, description = "The account after the change", body = AccountView),
        (status = 403, description = "The caller manages no accounts, or not this one's role", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid change", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(username): Path<String>,
    ApiJson(request): ApiJson<AccountChangeRequest>,
) -> ApiResult<Json<AccountView>> {
    let scope = account_scope(&actor).map_err(eprime_store::StoreError::from)?;
    let target = state
        .store
        .user_by_username(&username)
        .await?
        .filter(|u| scope.covers(&u.binding))
        .ok_or_else(|| ApiError::not_found(format!("user {username}")))?;
    may_manage_account(&actor, &target.binding).map_err(eprime_store::StoreError::from)?;
    if request.disabled.is_none() && request.password.is_none() {
        return Err(ApiError::field("body", "names no change (disabled, password)"));
    }
    if let Some(password) = &request.password {
        password::check(password, &username).map_err(|e| ApiError::invalid(e.into()))?;
    }
    if target.username == actor.username && request.disabled == Some(true) {
        return Err(ApiError::new(StatusCode::CONFLICT, "you cannot disable your own account"));
    }
    let mut user = target;
    if let Some(password) = request.password {
        let hash = hash(password).await?;
        user = state.store.set_user_password(Some(&actor), &username, hash).await?;
    }
    if let Some(disabled) = request.disabled {
        user = state.store.set_user_disabled(Some(&actor), &username, disabled).await?;
    }
    Ok(Json(user.into()))
}
