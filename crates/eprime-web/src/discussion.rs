//! A record's discussion as a page shows it (`templates/discussion.html`): the comments the
//! viewer may see, oldest first, and — for those who may take part — the form to add one, with
//! what was typed and why it was refused. The store decides who reads what; this only shapes it.

use eprime_domain::access::{comment_marking, may_comment};
use eprime_domain::{Comment, OrgCode, SubjectKind};
use eprime_store::{Store, StoreError};

use crate::session::Viewer;
use crate::views::date;

/// One comment as a page shows it.
pub struct CommentView {
    pub author: String,
    pub at: String,
    pub at_iso: String,
    pub paragraphs: Vec<String>,
    pub deleted: bool,
    pub edited: bool,
}

pub struct Discussion {
    pub comments: Vec<CommentView>,
    pub may_comment: bool,
    /// Where the form posts (`body`, `csrf_token`).
    pub action: String,
    /// Who will read a comment posted here, in words ("NATO, NDC and JPN").
    pub audience: String,
    pub csrf: String,
    pub draft: String,
    pub error: Option<String>,
}

impl Discussion {
    /// The discussion of a record the viewer can see, owned (besides NATO) by `owner`: a
    /// partnership's nation, or a menu event's provider. `sent` is a refused comment and why.
    pub async fn load(
        store: &dyn Store,
        viewer: &Viewer,
        subject: SubjectKind,
        id: &str,
        owner: &OrgCode,
        action: String,
        sent: Option<(String, String)>,
    ) -> Result<Self, StoreError> {
        let comments = store.list_comments(&viewer.scope(), subject, id).await?.unwrap_or_default();
        let principal = viewer.principal();
        let audience = principal
            .map(|p| {
                let readers: Vec<String> =
                    comment_marking(owner, p, None).releasable_list().iter().map(ToString::to_string).collect();
                match readers.split_last() {
                    Some((last, [])) => format!("NATO and {last}"),
                    Some((last, rest)) => format!("NATO, {} and {last}", rest.join(", ")),
                    None => "NATO".to_owned(),
                }
            })
            .unwrap_or_default();
        let (draft, error) = match sent {
            Some((draft, error)) => (draft, Some(error)),
            None => (String::new(), None),
        };
        Ok(Self {
            comments: comments.into_iter().map(view).collect(),
            may_comment: principal.is_some_and(|p| may_comment(p).is_ok()),
            action,
            audience,
            csrf: viewer.csrf(),
            draft,
            error,
        })
    }
}

fn view(c: Comment) -> CommentView {
    CommentView {
        author: c.author,
        at: format!("{} {:02}:{:02} UTC", date(c.created_at.date()), c.created_at.hour(), c.created_at.minute()),
        at_iso: c.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        paragraphs: c.body.split("\n\n").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
        deleted: c.deleted_at.is_some(),
        edited: c.version > 1 && c.deleted_at.is_none(),
    }
}
