//! Every endpoint, registered so that routing and the OpenAPI document come from the same
//! list (utoipa-actix-web collects each `service` into the contract).

use utoipa_actix_web::service_config::ServiceConfig;

pub mod access_grants;
pub mod audit;
pub mod auth;
pub mod calculations;
pub mod devices;
pub mod health;
pub mod photos;
pub mod regions;
pub mod sync;
pub mod uploads;
pub mod users;

/// Everything under `/v1` plus health and metrics.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::health)
        .service(health::ready)
        .service(health::metrics)
        .service(auth::login)
        .service(auth::refresh)
        .service(auth::logout)
        .service(users::me)
        .service(users::list)
        .service(users::create)
        .service(users::get)
        .service(users::update)
        .service(regions::list)
        .service(regions::create)
        .service(regions::get)
        .service(regions::update)
        .service(devices::register)
        .service(devices::list)
        .service(devices::revoke)
        .service(access_grants::create)
        .service(access_grants::list)
        .service(access_grants::revoke)
        .service(audit::list)
        .service(calculations::assess)
        .service(calculations::aid_check)
        .service(sync::push)
        .service(sync::pull)
        .service(sync::schema)
        .service(sync::list_conflicts)
        .service(sync::resolve_conflict)
        .service(uploads::create)
        .service(uploads::outstanding)
        .service(uploads::progress)
        .service(uploads::append)
        .service(uploads::cancel)
        .service(photos::download);
}

/// RFC 3339 UTC instant from a stored timestamp.
pub fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}
