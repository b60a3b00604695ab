//! Every endpoint, registered so that routing and the OpenAPI document come from the same
//! list (utoipa-actix-web collects each `service` into the contract).

use utoipa_actix_web::service_config::ServiceConfig;

pub mod access_grants;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod calculations;
pub mod campaigns;
pub mod case_files;
pub mod case_numbers;
pub mod corrections;
pub mod devices;
pub mod dropout;
pub mod health;
pub mod households;
pub mod ledgers;
pub mod photo_reviews;
pub mod photos;
pub mod programs;
pub mod regions;
pub mod supervision_metrics;
pub mod sync;
pub mod sync_supervision;
pub mod uploads;
pub mod users;
pub mod work;

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
        .service(access_grants::for_review)
        .service(access_grants::review)
        .service(audit::list)
        .service(households::create)
        .service(households::list)
        .service(households::get)
        .service(households::update)
        .service(households::assign_helper)
        .service(households::release_helper)
        .service(households::list_candidates)
        .service(households::decide_candidate)
        .service(households::list_referrals)
        .service(households::settle_referral)
        .service(programs::list)
        .service(programs::get)
        .service(programs::create)
        .service(programs::get_year)
        .service(programs::put_year)
        .service(applications::wechat_login)
        .service(applications::create)
        .service(applications::list)
        .service(applications::get)
        .service(applications::update)
        .service(applications::submit)
        .service(applications::revise)
        .service(applications::decide)
        .service(applications::material)
        .service(case_files::exit_candidates)
        .service(case_files::get)
        .service(case_files::pay)
        .service(case_files::list)
        .service(case_files::record_income)
        .service(case_files::exit_step)
        .service(calculations::assess)
        .service(calculations::aid_check)
        .service(sync::push)
        .service(sync::pull)
        .service(sync::digest)
        .service(sync::repair_buckets)
        .service(sync::schema)
        .service(sync::list_conflicts)
        .service(sync::resolve_conflict)
        .service(sync_supervision::devices)
        .service(sync_supervision::quarantine)
        .service(sync_supervision::settle)
        .service(uploads::create)
        .service(uploads::outstanding)
        .service(uploads::progress)
        .service(uploads::append)
        .service(uploads::cancel)
        .service(photos::download)
        .service(photo_reviews::queue)
        .service(photo_reviews::backlog)
        .service(photo_reviews::decide)
        .service(case_numbers::reserve)
        .service(case_numbers::list)
        .service(work::work_list)
        .service(work::compliance)
        .service(work::list)
        .service(campaigns::create)
        .service(campaigns::list)
        .service(campaigns::get)
        .service(campaigns::progress)
        .service(campaigns::complete_phase)
        .service(dropout::evaluate)
        .service(dropout::record_document)
        .service(dropout::home_teaching_compliance)
        .service(corrections::get)
        .service(corrections::decide)
        .service(supervision_metrics::metrics)
        // The workbook before `{ledger}`, which would otherwise take its path.
        .service(ledgers::list)
        .service(ledgers::workbook)
        .service(ledgers::export);
}

/// RFC 3339 UTC instant from a stored timestamp.
pub fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}
