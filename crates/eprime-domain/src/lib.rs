//! The e-PRIME domain: partnerships, their documents and programmes, cooperation activities,
//! and who may see what. Pure: no I/O, no async, no clock (callers pass "now" in).
//!
//! Every value that crosses a boundary is a validated type (`PartnerCode`, `Title`, `ActivityKind`…):
//! once constructed it is known to be valid, so the store and the API never re-check it.

pub mod access;
pub mod activity;
pub mod codes;
pub mod comment;
pub mod dates;
pub mod document;
pub mod error;
pub mod ids;
pub mod marking;
pub mod menu;
pub mod partnership;
pub mod password;
pub mod text;

pub use access::{AccountScope, AuditScope, Caller, Principal, ReadScope, Refusal, Role, RoleBinding};
pub use activity::{
    Activity, ActivityChanges, ActivityInput, ActivityKind, ActivityPatch, ActivityStatus, NewActivity, SourceRef,
    TransitionError,
};
pub use codes::{AreaCode, OrgCode, PartnerCode};
pub use comment::{Comment, SubjectKind};
pub use document::{
    Approval, Approver, Document, DocumentKind, DocumentStatus, Edition, Element, ElementKind, NewDocument, NewElement,
    Signatory,
};
pub use error::{FieldError, ValidationErrors};
pub use ids::{
    ActivityId, CommentId, DocumentId, ElementId, NominationId, NotificationId, OfferingId, TokenId, UserId,
};
pub use marking::{Classification, Marking};
pub use partnership::{Area, Framework, OrgKind, Organisation, Partnership};
pub use text::{Text, Title};
