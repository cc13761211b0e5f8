//! The e-PRIME domain: partnerships, their documents and programmes, cooperation activities,
//! and who may see what. Pure: no I/O, no async, no clock (callers pass "now" in).
//!
//! Every value that crosses a boundary is a validated type (`PartnerCode`, `Title`, `ActivityKind`…):
//! once constructed it is known to be valid, so the store and the API never re-check it.

pub mod codes;
pub mod document;
pub mod error;
pub mod text;

pub use codes::{AreaCode, OrgCode, PartnerCode};
pub use document::{Approval, Approver, DocumentKind, DocumentStatus, Edition, ElementKind, NewElement, Signatory};
pub use error::{FieldError, ValidationErrors};
pub use text::{Text, Title};
