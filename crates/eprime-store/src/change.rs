//! The append-only change log: one entry per committed change, the single source for audit
//! history, the live stream and exchange with other systems.

use eprime_domain::{Classification, Marking, OrgCode, ReadScope};
use serde::Serialize;
use time::OffsetDateTime;

/// What kind of record a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    Organisation,
    Area,
    Partnership,
    Document,
    Activity,
    User,
    /// Sign-ins and API tokens of an account (security events).
    Account,
    /// A comment in a discussion.
    Comment,
    /// An organisation's webhook (never streamed or delivered; its secret is never logged).
    Webhook,
    /// A programme element (goal, priority area…): watched and discussed, changed with its document.
    Element,
    /// An event offered in the Partnership Cooperation Menu.
    Offering,
    /// A participant nominated for a menu event (its decisions, attendance and feedback).
    Nomination,
}

impl EntityType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organisation => "organisation",
            Self::Area => "area",
            Self::Partnership => "partnership",
            Self::Document => "document",
            Self::Activity => "activity",
            Self::User => "user",
            Self::Account => "account",
            Self::Comment => "comment",
            Self::Webhook => "webhook",
            Self::Element => "element",
            Self::Offering => "offering",
            Self::Nomination => "nomination",
        }
    }

    pub const ALL: [Self; 12] = [
        Self::Organisation,
        Self::Area,
        Self::Partnership,
        Self::Document,
        Self::Activity,
        Self::User,
        Self::Account,
        Self::Comment,
        Self::Webhook,
        Self::Element,
        Self::Offering,
        Self::Nomination,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// What the change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Create,
    Update,
    Transition,
    Approve,
    Disable,
    Enable,
    SetPassword,
    SignIn,
    SignInFailed,
    SignOut,
    TokenCreated,
    TokenRevoked,
    Delete,
    /// A webhook's signing secret was replaced (the secret itself is never logged).
    RotateSecret,
    /// Something due on the record did not come in time: a participant's feedback on a
    /// nomination, a provider's after-action report on an offering. Logged once per record by the
    /// system, so that those who owe it are told.
    Overdue,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Transition => "transition",
            Self::Approve => "approve",
            Self::Disable => "disable",
            Self::Enable => "enable",
            Self::SetPassword => "set_password",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignOut => "sign_out",
            Self::TokenCreated => "token_created",
            Self::TokenRevoked => "token_revoked",
            Self::Delete => "delete",
            Self::RotateSecret => "rotate_secret",
            Self::Overdue => "overdue",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Create,
            Self::Update,
            Self::Transition,
            Self::Approve,
            Self::Disable,
            Self::Enable,
            Self::SetPassword,
            Self::SignIn,
            Self::SignInFailed,
            Self::SignOut,
            Self::TokenCreated,
            Self::TokenRevoked,
            Self::Delete,
            Self::RotateSecret,
            Self::Overdue,
        ]
        .into_iter()
        .find(|o| o.as_str() == raw)
    }
}

/// One change for a store to append to its log, in the transaction that makes it: the record before
/// and after, serialised by the store. (Both stores take it, so a write records the same fields on each.)
#[derive(Debug)]
pub struct NewChangeEntry<'a, B, A> {
    /// Username of whoever made it; `None` for the system.
    pub actor: Option<&'a str>,
    pub entity: EntityType,
    pub entity_id: std::borrow::Cow<'a, str>,
    /// The partner nation it concerns.
    pub partner: Option<&'a str>,
    pub operation: Operation,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

/// A record as the log holds it: its JSON text, parsed when it is first read.
///
/// Why: most readers of the log look only at what an entry is about (its kind, id and partner).
/// The menu index follows offerings and nominations alone, and the stream hub builds nothing while
/// no stream listens; parsing every entry's records for them took ≈ 7 % of the server's core under
/// a stream of updates. It reads as a [`serde_json::Value`] (it dereferences to one), compares and
/// serialises as one, and is parsed at most once however often it is read.
///
/// Text that is not JSON (only a database edited by hand holds such) reads as `null`: its
/// record has no marking, so the change is passed on to no one.
#[derive(Clone)]
pub struct LoggedRecord {
    text: Option<Box<str>>,
    value: std::sync::OnceLock<serde_json::Value>,
}

impl LoggedRecord {
    /// A record from the JSON text a store holds, not parsed yet.
    pub fn from_text(text: String) -> Self {
        Self { text: Some(text.into_boxed_str()), value: std::sync::OnceLock::new() }
    }

    /// The record, parsed on first use.
    pub fn value(&self) -> &serde_json::Value {
        self.value.get_or_init(|| {
            self.text.as_deref().and_then(|text| serde_json::from_str(text).ok()).unwrap_or(serde_json::Value::Null)
        })
    }

    /// Only the top-level fields `names` of the record: an object holding those it has, for a reader
    /// that needs a few of them. From the text the other fields are skipped, not built (building a
    /// record's whole `Value` costs several times more); from a record already parsed they are copied.
    /// A record that is not a JSON object reads as `null`, as it does whole.
    pub fn fields(&self, names: &[&str]) -> serde_json::Value {
        use serde::de::DeserializeSeed;
        if let (Some(text), None) = (self.text.as_deref(), self.value.get()) {
            let mut json = serde_json::Deserializer::from_str(text);
            let fields = FieldsOf(names).deserialize(&mut json).and_then(|fields| json.end().map(|()| fields));
            return fields.map(serde_json::Value::Object).unwrap_or(serde_json::Value::Null);
        }
        match self.value() {
            serde_json::Value::Object(all) => serde_json::Value::Object(
                names.iter().filter_map(|name| Some(((*name).to_owned(), all.get(*name)?.clone()))).collect(),
            ),
            _ => serde_json::Value::Null,
        }
    }

    /// The record, parsed if it was not yet, as an owned value.
    pub fn into_value(self) -> serde_json::Value {
        self.value();
        self.value.into_inner().unwrap_or_default()
    }
}

/// Reads a JSON object keeping only the fields it names (`LoggedRecord::fields`).
struct FieldsOf<'n>(&'n [&'n str]);

impl<'de> serde::de::DeserializeSeed<'de> for FieldsOf<'_> {
    type Value = serde_json::Map<String, serde_json::Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for FieldsOf<'_> {
    type Value = serde_json::Map<String, serde_json::Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut fields = serde_json::Map::new();
        while let Some(wanted) = map.next_key_seed(Named(self.0))? {
            match wanted {
                Some(name) => {
                    fields.insert(name.to_owned(), map.next_value()?);
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// A key: the name it matches among those wanted, if any (compared without being copied).
struct Named<'n>(&'n [&'n str]);

impl<'de, 'n> serde::de::DeserializeSeed<'de> for Named<'n> {
    type Value = Option<&'n str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, 'n> serde::de::Visitor<'de> for Named<'n> {
    type Value = Option<&'n str>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().copied().find(|name| *name == key))
    }
}

impl From<serde_json::Value> for LoggedRecord {
    fn from(value: serde_json::Value) -> Self {
        Self { text: None, value: std::sync::OnceLock::from(value) }
    }
}

impl std::ops::Deref for LoggedRecord {
    type Target = serde_json::Value;
    fn deref(&self) -> &serde_json::Value {
        self.value()
    }
}

impl PartialEq for LoggedRecord {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl std::fmt::Debug for LoggedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value().fmt(f)
    }
}

impl Serialize for LoggedRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

/// One committed change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeEntry {
    /// Position in the log: increasing in commit order, so a reader that follows it misses nothing.
    /// Not necessarily gap-free (a PostgreSQL sequence skips the numbers of rolled-back writes).
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Username of whoever made the change; `None` for the system itself.
    pub actor: Option<String>,
    pub entity: EntityType,
    pub entity_id: String,
    /// The partner nation the entry concerns: a programme record's partnership, an account's nation.
    pub partner: Option<String>,
    pub operation: Operation,
    /// The record before the change (`None` on create).
    pub before: Option<LoggedRecord>,
    /// The record after the change.
    pub after: Option<LoggedRecord>,
}

/// One field a change altered: its name, and its value before and after (`None` where the record
/// did not have it).
pub type FieldChange<'e> = (&'e str, Option<&'e serde_json::Value>, Option<&'e serde_json::Value>);

impl ChangeEntry {
    /// The top-level fields whose values differ between the record before and after the change, by
    /// name, leaving out `ignored`. Empty unless both are JSON objects (a create has no before).
    pub fn changed_fields(&self, ignored: &[&str]) -> Vec<FieldChange<'_>> {
        let (Some(serde_json::Value::Object(before)), Some(serde_json::Value::Object(after))) =
            (self.before.as_deref(), self.after.as_deref())
        else {
            return Vec::new();
        };
        let names: std::collections::BTreeSet<&str> = before.keys().chain(after.keys()).map(String::as_str).collect();
        names
            .into_iter()
            .filter(|name| !ignored.contains(name) && before.get(*name) != after.get(*name))
            .map(|name| (name, before.get(name), after.get(name)))
            .collect()
    }

    /// The record as this change left it (or as it was, for a removal).
    pub fn record(&self) -> Option<&serde_json::Value> {
        self.after.as_deref().or(self.before.as_deref())
    }

    /// The marking of the changed record — who may learn of this change — or `None` for changes
    /// that are never passed on (accounts and sign-ins, or a record without a marking).
    pub fn marking(&self) -> Option<Marking> {
        match self.entity {
            EntityType::User | EntityType::Account | EntityType::Webhook => None,
            // The lists of organisations and areas are public reference data.
            EntityType::Organisation | EntityType::Area => Some(Marking::public()),
            _ => {
                let record = self.after.as_ref().or(self.before.as_ref())?;
                record_marking(&record.fields(MARKING_FIELDS))
            }
        }
    }

    /// Who may learn of this change: those who may read the record's marking and, for a comment,
    /// also its subject's marking as the change left it (a comment is visible only with its
    /// subject). `None` for changes that are never passed on. A comment logged without its
    /// subject's marking is passed on only to those who see everything.
    pub fn visibility(&self) -> Option<Visibility> {
        let record = self.marking()?;
        let subject = match self.entity {
            EntityType::Comment => Some(
                self.record()
                    .and_then(|r| r.get("subject_marking"))
                    .and_then(record_marking)
                    .unwrap_or_else(|| Marking::releasable_to([])),
            ),
            _ => None,
        };
        Some(Visibility { record, subject })
    }
}

/// What [`Store::changes_of`](crate::Store::changes_of) read: the entries of the kinds asked for,
/// and the position to read on from.
#[derive(Clone, Debug)]
pub struct ChangesRead {
    pub entries: Vec<ChangeEntry>,
    /// The newest entry looked at, of any kind (`after` itself when the log has nothing newer).
    /// Every entry of the kinds asked for up to it is in `entries`.
    pub reached: i64,
}

impl ChangesRead {
    /// The result of a read that ended at `end` (the log's newest entry when it began, or the
    /// last entry returned when `limit` cut it short).
    pub fn new(entries: Vec<ChangeEntry>, after: i64, end: i64, limit: u32) -> Self {
        let reached = match entries.last() {
            Some(last) if entries.len() >= limit as usize => last.seq,
            _ => end,
        };
        Self { entries, reached: reached.max(after) }
    }
}

/// The markings a reader must be allowed to read to learn of a change (see
/// [`ChangeEntry::visibility`]): the same rule as every read, applied to a logged change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visibility {
    pub record: Marking,
    /// A comment's subject.
    pub subject: Option<Marking>,
}

impl Visibility {
    pub fn admits(&self, scope: &ReadScope) -> bool {
        scope.can_read(&self.record) && self.subject.as_ref().is_none_or(|subject| scope.can_read(subject))
    }
}

/// The fields of a record that `record_marking` reads.
pub(crate) const MARKING_FIELDS: &[&str] = &["marking", "releasable_to", "document"];

/// The marking a record's JSON carries (`marking`, `releasable_to`); a document created with its
/// elements carries it under `document`.
pub(crate) fn marking_of(record: &serde_json::Value) -> Option<Marking> {
    record_marking(record)
}

fn record_marking(record: &serde_json::Value) -> Option<Marking> {
    let record = record.get("document").unwrap_or(record);
    let classification = Classification::parse(record.get("marking")?.as_str()?).ok()?;
    let orgs = record
        .get("releasable_to")
        .and_then(|r| r.as_array())
        .map(|list| list.iter().filter_map(|o| o.as_str().and_then(|o| OrgCode::parse(o).ok())).collect())
        .unwrap_or_default();
    Marking::new(classification, orgs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(entity: EntityType, after: serde_json::Value) -> ChangeEntry {
        ChangeEntry {
            seq: 1,
            at: OffsetDateTime::UNIX_EPOCH,
            actor: None,
            entity,
            entity_id: "x".into(),
            partner: None,
            operation: Operation::Create,
            before: None,
            after: Some(after.into()),
        }
    }

    fn scope(partner: &str) -> ReadScope {
        use eprime_domain::{Caller, PartnerCode, Principal, Role, RoleBinding, UserId};
        let binding = RoleBinding::new(Role::PartnerOfficer, Some(PartnerCode::parse(partner).unwrap()), None).unwrap();
        Caller::User(Principal { user_id: UserId::new(), username: "u".into(), binding }).read_scope()
    }

    #[test]
    fn a_logged_record_reads_compares_and_serialises_as_the_json_it_holds() {
        let text = r#"{"marking":"PUBLIC","title":"Cyber defence course","releasable_to":[]}"#;
        let lazy = LoggedRecord::from_text(text.to_owned());
        let parsed = LoggedRecord::from(serde_json::from_str::<serde_json::Value>(text).unwrap());
        assert_eq!(lazy, parsed);
        assert_eq!(lazy.get("title").and_then(|t| t.as_str()), Some("Cyber defence course"));
        assert_eq!(serde_json::to_string(&lazy).unwrap(), serde_json::to_string(&parsed).unwrap());
        let mut public = entry(EntityType::Activity, serde_json::Value::Null);
        public.after = Some(lazy.clone());
        assert_eq!(public.marking(), Some(Marking::public()));
        assert_eq!(lazy.into_value(), parsed.into_value());
    }

    #[test]
    fn the_changed_fields_are_those_whose_values_differ_by_name_without_the_ignored() {
        let after = serde_json::json!({"title": "B", "version": 2, "location": "Tokyo", "kind": "course"});
        let before = serde_json::json!({"title": "A", "version": 1, "lead": "NSO", "kind": "course"});
        let mut change = entry(EntityType::Activity, after.clone());
        change.before = Some(before.clone().into());
        assert_eq!(
            change.changed_fields(&["version"]),
            vec![
                ("lead", before.get("lead"), None),
                ("location", None, after.get("location")),
                ("title", before.get("title"), after.get("title")),
            ],
            "a field only one side has is changed; an equal one and an ignored one are not"
        );
        let created = entry(EntityType::Activity, after);
        assert!(created.changed_fields(&[]).is_empty(), "a create has nothing to compare");
    }

    #[test]
    fn a_records_fields_read_from_its_text_are_those_of_the_whole_record() {
        let text = r#"{"title":"T","marking":"NATO UNCLASSIFIED","releasable_to":["JPN"],"supports":[],
                       "st\u0061tus":"proposed","document":{"marking":"PUBLIC"}}"#;
        let names = ["status", "marking", "releasable_to", "missing"];
        let lazy = LoggedRecord::from_text(text.to_owned());
        let fields = lazy.fields(&names);
        assert_eq!(
            fields,
            serde_json::json!({"status": "proposed", "marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN"]}),
            "a key written with an escape is matched; a field the record lacks is left out"
        );
        assert!(lazy.value.get().is_none(), "the record itself is not parsed");
        assert_eq!(LoggedRecord::from(lazy.value().clone()).fields(&names), fields, "nor read otherwise once parsed");
        for broken in [r#"{"marking": "PUBLIC""#, r#"{"marking": "PUBLIC"} trailing"#, r#"["marking"]"#, "7"] {
            assert_eq!(LoggedRecord::from_text(broken.to_owned()).fields(&names), serde_json::Value::Null, "{broken}");
        }
    }

    proptest::proptest! {
        /// Whatever the record, the fields read from its text are the same fields of the record parsed
        /// whole (and nothing for text that is not a JSON object).
        #[test]
        fn fields_from_text_agree_with_the_whole_record(
            record in json_value(),
            names in proptest::collection::vec(proptest::sample::select(KEYS), 0..4),
        ) {
            let text = serde_json::to_string(&record).unwrap();
            let from_text = LoggedRecord::from_text(text).fields(&names);
            let from_value = LoggedRecord::from(record).fields(&names);
            proptest::prop_assert_eq!(from_text, from_value);
        }
    }

    const KEYS: &[&str] = &["marking", "status", "st\"atus", "é", ""];

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            r#"[a-z"\\é ]{0,6}"#.prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..5).prop_map(|fields| {
                    serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    #[test]
    fn a_record_that_is_not_json_reads_as_null_and_its_change_is_passed_on_to_no_one() {
        let mut broken = entry(EntityType::Activity, serde_json::Value::Null);
        broken.after = Some(LoggedRecord::from_text(r#"{"marking": "PUBLIC""#.to_owned()));
        assert_eq!(broken.record(), Some(&serde_json::Value::Null));
        assert_eq!(broken.marking(), None);
        assert_eq!(broken.visibility(), None);
    }

    #[test]
    fn a_comment_is_passed_on_only_with_its_subject() {
        let comment = |subject: serde_json::Value| {
            let mut record = serde_json::json!({"marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN", "KOR"]});
            if !subject.is_null() {
                record["subject_marking"] = subject;
            }
            entry(EntityType::Comment, record)
        };
        let on_japanese = comment(serde_json::json!({"marking": "NATO UNCLASSIFIED", "releasable_to": ["JPN"]}));
        let visibility = on_japanese.visibility().unwrap();
        assert!(visibility.admits(&scope("JPN")));
        assert!(!visibility.admits(&scope("KOR")), "released to Korea, but about a record Korea may not see");
        let unknown_subject = comment(serde_json::Value::Null).visibility().unwrap();
        assert!(!unknown_subject.admits(&scope("JPN")) && unknown_subject.admits(&ReadScope::system()));
        let activity = entry(EntityType::Activity, serde_json::json!({"marking": "PUBLIC"}));
        assert!(activity.visibility().unwrap().admits(&ReadScope::public_only()));
        assert_eq!(Operation::parse("overdue"), Some(Operation::Overdue));
    }
}
