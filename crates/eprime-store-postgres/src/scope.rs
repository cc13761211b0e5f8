//! The visibility rule of `eprime_domain::access` as SQL.
//!
//! Every read statement that returns programme data binds the caller's scope to parameters
//! `$1`..`$4` and includes [`visible!`] for each record kind it returns: there is no other way
//! to build those statements in this crate. The test suite checks this translation against
//! `ReadScope::can_read` on random data.

use eprime_domain::ReadScope;
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;

/// `(caller sees everything) OR (record is PUBLIC) OR (record released to one of $2..$4)`
/// for the record kind `$entity` aliased as `$alias`, whose releasability key is `$alias.$id`
/// (an expression giving text: `id::text` for uuid keys, since the releasability table also
/// holds partner codes).
macro_rules! visible {
    ($entity:literal, $alias:literal, $id:literal) => {
        visible!(@rule $entity, $alias, $id, "")
    };
    // The same for a record always released to the nation in `$alias.$owner` (an activity to its
    // partnership: `activity::marking_for`, enforced by the store on every write). Checking that
    // column first answers for the owner's own users from the row (or the index) alone, without a
    // `releasability` probe per row; for everyone else the rule is evaluated as above.
    ($entity:literal, $alias:literal, $id:literal, released_to = $owner:literal) => {
        visible!(@rule $entity, $alias, $id, concat!($alias, ".", $owner, " IN ($2, $3, $4) OR "), "")
    };
    // The same for a statement that reads a page: a few rows, in index order, or by id. Left to
    // itself, PostgreSQL's generic plan turns the `EXISTS` into a hash of every row released to
    // the caller, built before the first row is read (8,653 rows and 10 ms for an Ally at scale M,
    // to filter the 131 rows a page of 51 walks). `OFFSET 0` keeps the subquery from being
    // rewritten, so it stays an index probe per row read (1 ms).
    ($entity:literal, $alias:literal, $id:literal, released_to = $owner:literal, paged) => {
        visible!(@rule $entity, $alias, $id, concat!($alias, ".", $owner, " IN ($2, $3, $4) OR "), " OFFSET 0")
    };
    (@rule $entity:literal, $alias:literal, $id:literal, $owner_first:expr, $exists_tail:literal) => {
        concat!(
            "($1 OR ",
            $owner_first,
            $alias,
            ".marking = 'PUBLIC' OR EXISTS (SELECT 1 FROM releasability r WHERE r.entity_type = '",
            $entity,
            "' AND r.entity_id = ",
            $alias,
            ".",
            $id,
            " AND r.org IN ($2, $3, $4)",
            $exists_tail,
            "))"
        )
    };
    (@rule $entity:literal, $alias:literal, $id:literal, $owner_first:expr) => {
        visible!(@rule $entity, $alias, $id, $owner_first, "")
    };
}
pub(crate) use visible;

pub(crate) type PgQuery = Query<'static, Postgres, PgArguments>;

/// Binds `$1`..`$4`. Unused audience slots get the empty string, which is never an org code.
pub(crate) fn bind_scope(query: PgQuery, scope: &ReadScope) -> PgQuery {
    let audiences = scope.audiences();
    let slot = |i: usize| audiences.get(i).map(|a| a.as_str().to_owned()).unwrap_or_default();
    query.bind(scope.sees_everything()).bind(slot(0)).bind(slot(1)).bind(slot(2))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fragment_names_its_entity_and_alias() {
        let owned = visible!("activity", "a", "id::text", released_to = "partnership");
        assert!(owned.starts_with("($1 OR a.partnership IN ($2, $3, $4) OR a.marking = 'PUBLIC'"));
        let sql = visible!("activity", "a", "id::text");
        assert!(sql.starts_with("($1 OR a.marking = 'PUBLIC'"));
        assert!(sql.contains("r.entity_type = 'activity' AND r.entity_id = a.id::text"));
        assert!(sql.ends_with("r.org IN ($2, $3, $4)))"));
        let paged = visible!("activity", "a", "id::text", released_to = "partnership", paged);
        assert_eq!(paged, owned.replace("($2, $3, $4)))", "($2, $3, $4) OFFSET 0))"), "the same rule, kept a probe");
        const _: () = assert!(eprime_domain::ReadScope::MAX_AUDIENCES == 3, "visible! binds exactly three audiences");
    }
}
