//! Who is asking, and what they may see and do.
//!
//! The visibility rule lives here, once, as pure functions; the store translates exactly this
//! rule into its queries (and its test suite checks the translation against these functions).
//!
//! A record is visible to a caller when the caller's role sees everything (NATO staff,
//! administrators, auditors), or the record is `PUBLIC`, or it is released to one of the
//! caller's *audiences*: a partner's users to their nation, an Ally's officers to their nation
//! and to the group `ALLIES`, a provider's users to their organisation. A partner's own
//! programme is released to that partner; another partner's is not, so it stays invisible.

use serde::{Deserialize, Serialize};

use crate::activity::ActivityStatus;
use crate::codes::{OrgCode, PartnerCode};
use crate::error::FieldError;
use crate::ids::UserId;
use crate::marking::Marking;

/// A user's role. Roles bound to a nation or organisation carry it in [`Principal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// NATO staff who also manage every account.
    NatoAdmin,
    /// NATO International Staff / International Military Staff: read and write everything.
    NatoStaff,
    /// Read-only view of everything, plus the audit log.
    Auditor,
    /// Manages the accounts of its own nation's users.
    PartnerAdmin,
    /// A partner mission officer: builds and tracks its own programme.
    PartnerOfficer,
    /// An officer of one of the 32 Allies.
    AllyOfficer,
    /// A provider (school, Centre of Excellence, training centre): its own offerings.
    Provider,
    /// Someone who attends events: their own registrations.
    Participant,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Self::NatoAdmin,
        Self::NatoStaff,
        Self::Auditor,
        Self::PartnerAdmin,
        Self::PartnerOfficer,
        Self::AllyOfficer,
        Self::Provider,
        Self::Participant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NatoAdmin => "nato_admin",
            Self::NatoStaff => "nato_staff",
            Self::Auditor => "auditor",
            Self::PartnerAdmin => "partner_admin",
            Self::PartnerOfficer => "partner_officer",
            Self::AllyOfficer => "ally_officer",
            Self::Provider => "provider",
            Self::Participant => "participant",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|r| r.as_str()).collect();
            FieldError::new("role", format!("`{raw}` is not a role; expected one of {}", names.join(", ")))
        })
    }

    /// Roles that read every record regardless of marking.
    pub fn sees_everything(self) -> bool {
        matches!(self, Self::NatoAdmin | Self::NatoStaff | Self::Auditor)
    }

    /// Roles that may write programme data (partnerships, documents, any activity).
    pub fn is_nato_writer(self) -> bool {
        matches!(self, Self::NatoAdmin | Self::NatoStaff)
    }

    fn needs_partner(self) -> bool {
        matches!(self, Self::PartnerAdmin | Self::PartnerOfficer)
    }

    fn needs_organisation(self) -> bool {
        matches!(self, Self::AllyOfficer | Self::Provider)
    }
}

/// The binding of a role to what it is scoped to, checked once when an account is made:
/// a partner officer always has a partner, a provider always an organisation, NATO roles neither.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleBinding {
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner: Option<PartnerCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<OrgCode>,
}

impl RoleBinding {
    pub fn new(role: Role, partner: Option<PartnerCode>, organisation: Option<OrgCode>) -> Result<Self, FieldError> {
        if role.needs_partner() && partner.is_none() {
            return Err(FieldError::new("partner", format!("role `{}` needs a partner (e.g. JPN)", role.as_str())));
        }
        if !role.needs_partner() && partner.is_some() {
            return Err(FieldError::new("partner", format!("role `{}` is not bound to a partner", role.as_str())));
        }
        if role.needs_organisation() && organisation.is_none() {
            let example = if role == Role::AllyOfficer { "an Ally, e.g. FRA" } else { "an organisation, e.g. NDC" };
            return Err(FieldError::new("organisation", format!("role `{}` needs {example}", role.as_str())));
        }
        if role.sees_everything() && organisation.is_some() {
            return Err(FieldError::new(
                "organisation",
                format!("role `{}` is not bound to an organisation", role.as_str()),
            ));
        }
        Ok(Self { role, partner, organisation })
    }
}

/// A signed-in user, as every store operation receives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub username: String,
    pub binding: RoleBinding,
}

impl Principal {
    pub fn role(&self) -> Role {
        self.binding.role
    }
}

/// Whoever makes a request: a signed-in user, or the public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    User(Principal),
}

impl Caller {
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Anonymous => None,
            Self::User(p) => Some(p),
        }
    }

    /// The read scope every store read takes. Derived, never stored, so it cannot drift
    /// from the role.
    pub fn read_scope(&self) -> ReadScope {
        let Some(principal) = self.principal() else {
            return ReadScope::public_only();
        };
        let binding = &principal.binding;
        if binding.role.sees_everything() {
            return ReadScope { everything: true, audiences: Vec::new() };
        }
        let mut audiences = Vec::with_capacity(3);
        if let Some(partner) = &binding.partner {
            audiences.push(partner.as_org());
            // Records released to every partner at once (menu events open to all partners).
            audiences.push(OrgCode::partners());
        }
        if let Some(org) = &binding.organisation {
            audiences.push(org.clone());
        }
        if binding.role == Role::AllyOfficer {
            audiences.push(OrgCode::allies());
        }
        ReadScope { everything: false, audiences }
    }
}

/// What a caller may read: everything, or public records plus those released to one of its
/// audiences. At most [`ReadScope::MAX_AUDIENCES`] audiences, so stores can use fixed queries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReadScope {
    everything: bool,
    audiences: Vec<OrgCode>,
}

impl ReadScope {
    pub const MAX_AUDIENCES: usize = 3;

    pub fn public_only() -> Self {
        Self { everything: false, audiences: Vec::new() }
    }

    /// For the system's own work (migrations, the demo loader, background jobs): never for a request.
    pub fn system() -> Self {
        Self { everything: true, audiences: Vec::new() }
    }

    pub fn sees_everything(&self) -> bool {
        self.everything
    }

    pub fn audiences(&self) -> &[OrgCode] {
        &self.audiences
    }

    /// The visibility rule.
    pub fn can_read(&self, marking: &Marking) -> bool {
        self.everything
            || marking.is_public()
            || marking.releasable_list().iter().any(|org| self.audiences.contains(org))
    }
}

/// Why a write was refused, in words the caller can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// May `actor` create or edit activities of `partnership`?
/// NATO staff may, for any partnership; a partner officer, for its own.
pub fn may_edit_activity(actor: &Principal, partnership: &PartnerCode) -> Result<(), Refusal> {
    let binding = &actor.binding;
    match binding.role {
        r if r.is_nato_writer() => Ok(()),
        Role::PartnerOfficer if binding.partner.as_ref() == Some(partnership) => Ok(()),
        Role::PartnerOfficer => {
            Err(Refusal(format!("a partner officer edits only its own partnership's activities, not {partnership}'s")))
        }
        role => Err(Refusal(format!("role `{}` cannot create or edit activities", role.as_str()))),
    }
}

/// May `actor` move an activity of `partnership` to `to`? Approval is NATO's; the partner
/// officer may carry its own activities through the other steps.
pub fn may_transition_activity(
    actor: &Principal,
    partnership: &PartnerCode,
    to: ActivityStatus,
) -> Result<(), Refusal> {
    may_edit_activity(actor, partnership)?;
    if to == ActivityStatus::Approved && !actor.role().is_nato_writer() {
        return Err(Refusal("only NATO staff approve an activity".to_owned()));
    }
    Ok(())
}

/// May `actor` write partnerships, documents and reference data? NATO staff only.
pub fn may_edit_programme(actor: &Principal) -> Result<(), Refusal> {
    if actor.role().is_nato_writer() {
        Ok(())
    } else {
        Err(Refusal(format!("role `{}` cannot change partnerships or documents; NATO staff do", actor.role().as_str())))
    }
}

/// May `actor` take part in discussions? Everyone signed in but auditors, whose access is read-only.
pub fn may_comment(actor: &Principal) -> Result<(), Refusal> {
    if actor.role() == Role::Auditor {
        Err(Refusal("auditors read; they do not take part in discussions".to_owned()))
    } else {
        Ok(())
    }
}

/// The marking a comment gets: what its author asked for (by default NATO UNCLASSIFIED), widened
/// so that the discussion's owner and the author can always read it — a discussion belongs to
/// both sides, and nobody writes what they cannot read back. The owner is the partner nation of a
/// programme record (activity, document, goal), or the provider of a menu event: a partner
/// officer's comment on an event is therefore seen by NATO, the provider and that partner — not
/// by the other partners eligible for the event, unless the author releases it to them.
///
/// Whatever the marking says, a comment is shown only to those who may also see its subject.
pub fn comment_marking(owner: &OrgCode, author: &Principal, requested: Option<Marking>) -> Marking {
    let requested = requested.unwrap_or_default();
    if requested.is_public() {
        return requested;
    }
    let mut orgs = requested.releasable_list().to_vec();
    orgs.push(owner.clone());
    if !author.role().sees_everything() {
        orgs.extend(author.binding.partner.iter().map(PartnerCode::as_org));
        orgs.extend(author.binding.organisation.iter().cloned());
    }
    Marking::releasable_to(orgs)
}

/// Whose accounts a user may see and manage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountScope {
    /// Every account (NATO administrators).
    All,
    /// The accounts of one partner nation (its partner administrators).
    Partner(PartnerCode),
}

/// Which accounts `actor` manages, or why none.
pub fn account_scope(actor: &Principal) -> Result<AccountScope, Refusal> {
    match (actor.role(), &actor.binding.partner) {
        (Role::NatoAdmin, _) => Ok(AccountScope::All),
        (Role::PartnerAdmin, Some(partner)) => Ok(AccountScope::Partner(partner.clone())),
        (role, _) => Err(Refusal(format!("role `{}` does not manage accounts", role.as_str()))),
    }
}

impl AccountScope {
    /// Whether an existing account is within this scope (outside it, it looks absent).
    pub fn covers(&self, account: &RoleBinding) -> bool {
        match self {
            Self::All => true,
            Self::Partner(partner) => account.partner.as_ref() == Some(partner),
        }
    }
}

/// May `actor` create, disable or reset an account with `binding`? A partner administrator
/// grants only its own nation's partner roles — never another nation's, never a NATO role.
pub fn may_manage_account(actor: &Principal, binding: &RoleBinding) -> Result<(), Refusal> {
    match account_scope(actor)? {
        AccountScope::All => Ok(()),
        AccountScope::Partner(partner) => {
            if !matches!(binding.role, Role::PartnerOfficer | Role::PartnerAdmin) {
                return Err(Refusal(format!(
                    "a partner administrator grants only partner_officer or partner_admin, not `{}`",
                    binding.role.as_str()
                )));
            }
            if binding.partner.as_ref() != Some(&partner) {
                return Err(Refusal(format!("a partner administrator of {partner} manages only {partner}'s accounts")));
            }
            Ok(())
        }
    }
}

/// What part of the audit log a user may read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditScope {
    /// Everything (auditors and NATO administrators).
    All,
    /// The account events of one partner nation (its partner administrators).
    Accounts(PartnerCode),
}

/// Which audit entries `actor` may read, or why none.
pub fn audit_scope(actor: &Principal) -> Result<AuditScope, Refusal> {
    match (actor.role(), &actor.binding.partner) {
        (Role::Auditor | Role::NatoAdmin, _) => Ok(AuditScope::All),
        (Role::PartnerAdmin, Some(partner)) => Ok(AuditScope::Accounts(partner.clone())),
        (role, _) => Err(Refusal(format!("role `{}` cannot read the audit log; auditors can", role.as_str()))),
    }
}

/// What an organisation may see, as a recipient of changes (its webhooks): exactly what a user
/// representing it sees — a partner nation's partner officer, an Ally's officer, a provider's
/// user; NATO and its bodies see everything. Derived through [`Caller::read_scope`], so the
/// visibility rule stays written once. A partner whose code is not a nation code sees only public
/// records (it cannot be bound to a partner role).
pub fn organisation_scope(org: &OrgCode, kind: crate::partnership::OrgKind) -> ReadScope {
    use crate::partnership::OrgKind;
    let binding = match kind {
        OrgKind::NatoBody => RoleBinding::new(Role::NatoStaff, None, None),
        OrgKind::Partner => match PartnerCode::parse(org.as_str()) {
            Ok(partner) => RoleBinding::new(Role::PartnerOfficer, Some(partner), None),
            Err(error) => Err(error),
        },
        OrgKind::Ally => RoleBinding::new(Role::AllyOfficer, None, Some(org.clone())),
        OrgKind::Provider => RoleBinding::new(Role::Provider, None, Some(org.clone())),
    };
    match binding {
        Ok(binding) => {
            Caller::User(Principal { user_id: UserId(uuid::Uuid::nil()), username: org.to_string(), binding })
                .read_scope()
        }
        Err(_) => ReadScope::public_only(),
    }
}

/// Whose webhooks `actor` manages: every organisation's for a NATO administrator, its own
/// nation's for a partner administrator (the same people who manage accounts), or why none.
pub fn webhook_scope(actor: &Principal) -> Result<AccountScope, Refusal> {
    account_scope(actor)
        .map_err(|_| Refusal(format!("role `{}` does not manage webhooks; administrators do", actor.role().as_str())))
}

impl AccountScope {
    /// Whether an organisation's records (its webhooks) are within this scope.
    pub fn covers_organisation(&self, org: &OrgCode) -> bool {
        match self {
            Self::All => true,
            Self::Partner(partner) => partner.as_str() == org.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marking::Marking;
    use proptest::prelude::*;

    fn principal(role: Role, partner: Option<&str>, org: Option<&str>) -> Principal {
        Principal {
            user_id: UserId::new(),
            username: "u".into(),
            binding: RoleBinding::new(
                role,
                partner.map(|p| PartnerCode::parse(p).unwrap()),
                org.map(|o| OrgCode::parse(o).unwrap()),
            )
            .unwrap(),
        }
    }

    fn org(code: &str) -> OrgCode {
        OrgCode::parse(code).unwrap()
    }

    #[test]
    fn an_organisation_sees_what_its_users_see() {
        use crate::partnership::OrgKind;
        let japan_only = Marking::releasable_to([org("JPN")]);
        let allies = Marking::releasable_to([org("KOR"), org("ALLIES")]);
        let ndc = Marking::releasable_to([org("NDC")]);
        let jpn = organisation_scope(&org("JPN"), OrgKind::Partner);
        assert_eq!(jpn, Caller::User(principal(Role::PartnerOfficer, Some("JPN"), None)).read_scope());
        assert!(jpn.can_read(&japan_only) && !jpn.can_read(&allies) && !jpn.can_read(&ndc));
        let kor = organisation_scope(&org("KOR"), OrgKind::Partner);
        assert!(!kor.can_read(&japan_only) && kor.can_read(&allies));
        let fra = organisation_scope(&org("FRA"), OrgKind::Ally);
        assert_eq!(fra, Caller::User(principal(Role::AllyOfficer, None, Some("FRA"))).read_scope());
        assert!(fra.can_read(&allies) && !fra.can_read(&japan_only));
        let provider = organisation_scope(&org("NDC"), OrgKind::Provider);
        assert!(provider.can_read(&ndc) && !provider.can_read(&allies));
        assert!(organisation_scope(&org("NATO"), OrgKind::NatoBody).sees_everything());
        let odd = organisation_scope(&org("PFP-CENTRE"), OrgKind::Partner);
        assert_eq!(odd, ReadScope::public_only(), "a partner without a nation code sees only public records");
    }

    #[test]
    fn administrators_manage_webhooks_of_their_own_organisations() {
        let nato = principal(Role::NatoAdmin, None, None);
        assert!(webhook_scope(&nato).unwrap().covers_organisation(&org("FRA")));
        let jpn = webhook_scope(&principal(Role::PartnerAdmin, Some("JPN"), None)).unwrap();
        assert!(jpn.covers_organisation(&org("JPN")));
        assert!(!jpn.covers_organisation(&org("KOR")));
        for role in [Role::NatoStaff, Role::Auditor, Role::PartnerOfficer] {
            let partner = (role == Role::PartnerOfficer).then_some("JPN");
            assert!(webhook_scope(&principal(role, partner, None)).unwrap_err().0.contains("webhooks"));
        }
    }

    #[test]
    fn bindings_are_checked() {
        assert!(RoleBinding::new(Role::PartnerOfficer, None, None).is_err());
        assert!(RoleBinding::new(Role::Provider, None, None).is_err());
        assert!(RoleBinding::new(Role::NatoStaff, Some(PartnerCode::parse("JPN").unwrap()), None).is_err());
        assert!(RoleBinding::new(Role::AllyOfficer, None, Some(org("FRA"))).is_ok());
    }

    #[test]
    fn partners_see_their_own_and_public_records_only() {
        let jpn = Caller::User(principal(Role::PartnerOfficer, Some("JPN"), None)).read_scope();
        let kor = Caller::User(principal(Role::PartnerOfficer, Some("KOR"), None)).read_scope();
        let japan_only = Marking::releasable_to([org("JPN")]);
        assert!(jpn.can_read(&japan_only));
        assert!(!kor.can_read(&japan_only));
        assert!(kor.can_read(&Marking::public()));
        assert!(!jpn.can_read(&Marking::releasable_to([])));
    }

    #[test]
    fn allies_see_what_is_released_to_allies_or_to_them() {
        let fra = Caller::User(principal(Role::AllyOfficer, None, Some("FRA"))).read_scope();
        assert!(fra.can_read(&Marking::releasable_to([org("JPN"), org("ALLIES")])));
        assert!(fra.can_read(&Marking::releasable_to([org("FRA")])));
        assert!(!fra.can_read(&Marking::releasable_to([org("JPN")])));
    }

    #[test]
    fn the_public_sees_public_records_only() {
        let public = Caller::Anonymous.read_scope();
        assert!(public.can_read(&Marking::public()));
        assert!(!public.can_read(&Marking::releasable_to([org("ALLIES"), org("JPN")])));
    }

    #[test]
    fn only_nato_approves_and_partners_edit_only_their_own() {
        let jpn = principal(Role::PartnerOfficer, Some("JPN"), None);
        let staff = principal(Role::NatoStaff, None, None);
        let japan = PartnerCode::parse("JPN").unwrap();
        let korea = PartnerCode::parse("KOR").unwrap();
        assert!(may_edit_activity(&jpn, &japan).is_ok());
        assert!(may_edit_activity(&jpn, &korea).is_err());
        assert!(may_transition_activity(&jpn, &japan, ActivityStatus::Approved).is_err());
        assert!(may_transition_activity(&jpn, &japan, ActivityStatus::Cancelled).is_ok());
        assert!(may_transition_activity(&staff, &korea, ActivityStatus::Approved).is_ok());
        let provider = principal(Role::Provider, None, Some("NDC"));
        assert!(may_edit_activity(&provider, &japan).unwrap_err().0.contains("provider"));
    }

    #[test]
    fn partner_administrators_manage_only_their_own_nations_partner_roles() {
        let admin = principal(Role::PartnerAdmin, Some("JPN"), None);
        let binding = |role, partner: Option<&str>, org: Option<&str>| {
            RoleBinding::new(role, partner.map(|p| PartnerCode::parse(p).unwrap()), org.map(org_code)).unwrap()
        };
        assert!(may_manage_account(&admin, &binding(Role::PartnerOfficer, Some("JPN"), None)).is_ok());
        assert!(may_manage_account(&admin, &binding(Role::PartnerAdmin, Some("JPN"), None)).is_ok());
        assert!(may_manage_account(&admin, &binding(Role::PartnerOfficer, Some("KOR"), None)).is_err());
        assert!(may_manage_account(&admin, &binding(Role::NatoStaff, None, None)).is_err());
        assert!(may_manage_account(&admin, &binding(Role::AllyOfficer, None, Some("FRA"))).is_err());
        let nato = principal(Role::NatoAdmin, None, None);
        assert!(may_manage_account(&nato, &binding(Role::NatoStaff, None, None)).is_ok());
        let staff = principal(Role::NatoStaff, None, None);
        assert!(account_scope(&staff).is_err());
        assert_eq!(audit_scope(&admin), Ok(AuditScope::Accounts(PartnerCode::parse("JPN").unwrap())));
        assert_eq!(audit_scope(&principal(Role::Auditor, None, None)), Ok(AuditScope::All));
        assert!(audit_scope(&staff).is_err());
    }

    #[test]
    fn comments_stay_readable_by_the_partnership_and_their_author() {
        let japan = PartnerCode::parse("JPN").unwrap().as_org();
        let ally = principal(Role::AllyOfficer, None, Some("FRA"));
        let marking = comment_marking(&japan, &ally, None);
        assert_eq!(marking.banner(), "NATO UNCLASSIFIED Releasable to FRA, JPN");
        let staff = principal(Role::NatoStaff, None, None);
        assert_eq!(comment_marking(&japan, &staff, None).banner(), "NATO UNCLASSIFIED Releasable to JPN");
        assert!(comment_marking(&japan, &staff, Some(Marking::public())).is_public());
        assert!(may_comment(&principal(Role::Auditor, None, None)).is_err());
    }

    #[test]
    fn comments_on_a_menu_event_stay_with_its_provider_and_their_author() {
        let ndc = org("NDC");
        let japan = principal(Role::PartnerOfficer, Some("JPN"), None);
        let korea = Caller::User(principal(Role::PartnerOfficer, Some("KOR"), None)).read_scope();
        let marking = comment_marking(&ndc, &japan, None);
        assert_eq!(marking.banner(), "NATO UNCLASSIFIED Releasable to JPN, NDC");
        assert!(!korea.can_read(&marking), "another partner eligible for the event does not read Japan's comment");
        let staff = principal(Role::NatoStaff, None, None);
        assert_eq!(comment_marking(&ndc, &staff, None).banner(), "NATO UNCLASSIFIED Releasable to NDC");
        let provider = principal(Role::Provider, None, Some("NDC"));
        let to_partners = comment_marking(&ndc, &provider, Some(Marking::releasable_to([OrgCode::partners()])));
        assert!(korea.can_read(&to_partners), "the provider may address every partner the event is open to");
    }

    fn org_code(code: &str) -> OrgCode {
        OrgCode::parse(code).unwrap()
    }

    fn any_org() -> impl Strategy<Value = OrgCode> {
        proptest::sample::select(vec!["JPN", "KOR", "AUS", "FRA", "DEU", "NDC", "ALLIES"]).prop_map(org)
    }

    fn any_caller() -> impl Strategy<Value = Caller> {
        let partners = proptest::sample::select(vec!["JPN", "KOR", "AUS"]);
        let orgs = proptest::sample::select(vec!["FRA", "DEU", "NDC"]);
        (proptest::sample::select(Role::ALL.to_vec()), partners, orgs, any::<bool>()).prop_map(|(role, p, o, anon)| {
            if anon {
                return Caller::Anonymous;
            }
            let partner = role.needs_partner().then_some(p);
            let organisation = role.needs_organisation().then_some(o);
            Caller::User(principal(role, partner, organisation))
        })
    }

    proptest! {
        /// A partner-bound caller never reads a record that is neither public nor released to
        /// its own nation, whatever else it is released to.
        #[test]
        fn partner_callers_never_read_other_partners_records(caller in any_caller(), released in proptest::collection::vec(any_org(), 0..4)) {
            let marking = Marking::releasable_to(released.clone());
            let scope = caller.read_scope();
            if let Some(partner) = caller.principal().and_then(|p| p.binding.partner.clone()) {
                prop_assert_eq!(scope.can_read(&marking), released.contains(&partner.as_org()));
            }
            prop_assert!(scope.audiences().len() <= ReadScope::MAX_AUDIENCES);
            prop_assert!(scope.can_read(&Marking::public()));
        }
    }
}
