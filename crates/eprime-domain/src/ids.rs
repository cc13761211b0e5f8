//! Identifiers. UUIDv7: unique without coordination (several instances, database copies) and
//! ordered by creation time, which keeps indexes and cursors cheap.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type!(
    /// A cooperation activity.
    ActivityId,
    /// A partnership document.
    DocumentId,
    /// An element of a document's programme (objective, priority issue, goal, priority area).
    ElementId,
    /// A user account.
    UserId,
    /// A sign-in session or a named API token.
    TokenId,
    /// A comment in a discussion.
    CommentId,
    /// A notification in a user's inbox.
    NotificationId,
    /// An organisation's webhook endpoint.
    WebhookId,
    /// One change to be delivered to one webhook.
    DeliveryId,
    /// An event offered in the Partnership Cooperation Menu.
    OfferingId,
    /// A participant nominated for a menu event.
    NominationId,
);
