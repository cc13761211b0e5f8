//! The Partnership Cooperation Menu: ten years of offerings (1,400 a year at M).
//!
//! Each year is the demo's deterministic menu generator run for that year (so titles, areas,
//! providers and the rare / common / everywhere words of the search scenarios are realistic),
//! with the year in the code so every code stays unique.

use eprime_domain::menu::OfferingCode;
use eprime_domain::{Principal, Role, RoleBinding, UserId};
use eprime_store::DynStore;

/// Writes `count` offerings, year after year back from today, their codes marked with `series` and
/// the year (so two series never collide); returns how many.
pub async fn generate_menu(store: &DynStore, count: usize, series: char) -> anyhow::Result<usize> {
    let loader = Principal {
        user_id: UserId::new(),
        username: "bench-loader".to_owned(),
        binding: RoleBinding::new(Role::NatoAdmin, None, None)?,
    };
    let today = time::OffsetDateTime::now_utc().date();
    let mut written = 0;
    let mut year = 0;
    while written < count {
        let around = today - time::Duration::days(365 * year);
        for mut offering in eprime_demo::menu::offerings(around)? {
            if written == count {
                break;
            }
            offering.code = OfferingCode::parse(&format!("{}-{series}{year}", offering.code))?;
            store.create_offering(&loader, offering).await?;
            written += 1;
        }
        year += 1;
    }
    Ok(written)
}
