//! Photos as the console shows them (`/files/{sha256}?size=thumb|medium`): the same reach
//! check and the same sending as `GET /v1/photos/{sha256}`, for a signed-in browser.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::caller::perm;
use crate::console::routes::Register;
use crate::console::{Page, PageError};
use crate::infra::error::Error;
use crate::photos::Sha256Hex;
use crate::photos::http::{PhotoQuery, Viewer, send};
use crate::photos::service;
use crate::state::AppState;

async fn file(
    state: web::Data<AppState>,
    page: Page<perm::SyncPull>,
    req: HttpRequest,
    sha256: web::Path<String>,
    q: web::Query<PhotoQuery>,
) -> Result<HttpResponse, PageError> {
    let sha = Sha256Hex::parse(&sha256).map_err(|_| Error::NotFound)?;
    let (blob, path) = service::reach(&state.db, &page.caller, &sha).await?;
    let viewer = Viewer::Staff(page.caller.actor());
    Ok(send(&state, &req, &viewer, blob, &path, q.size).await?)
}

pub fn configure(r: &mut impl Register) {
    r.get("/files/{sha256}", file);
}
