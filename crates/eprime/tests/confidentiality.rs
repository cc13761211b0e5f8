//! A partner never receives another partner's partnership, documents or activities: on every
//! resource they answer 404, and they never appear in lists.

mod common;

use common::{TestApp, checks};

#[tokio::test]
async fn partner_officers_get_404_for_other_partners_records_on_every_resource() {
    let app = TestApp::demo().await;
    checks::partner_confidentiality(&app).await;
}

#[tokio::test]
async fn each_role_sees_its_own_slice_of_japan() {
    let app = TestApp::demo().await;
    checks::role_slices_of_japan(&app).await;
}
