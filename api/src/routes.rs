//! Every endpoint, registered so that routing and the OpenAPI document come from the same
//! list (utoipa-actix-web collects each `service` into the contract).

use actix_web::dev::HttpServiceFactory;
use utoipa_actix_web::OpenApiFactory;
use utoipa_actix_web::service_config::ServiceConfig;

/// Where endpoints are mounted: the server's routing and contract, or a test that looks at
/// each endpoint's contract on its own (`crate::contract`'s check that no two types share a
/// component name).
pub trait Mount {
    fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static;
}

impl Mount for ServiceConfig<'_> {
    fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static,
    {
        ServiceConfig::service(self, factory)
    }
}

/// The officers' console: its assets and every capability's pages (not in the contract:
/// they answer HTML to browsers).
pub fn pages(cfg: &mut actix_web::web::ServiceConfig) {
    every_page(cfg);
}

/// Registers the console's assets and every capability's pages with `r`: the server's
/// configuration, or the route table the authorisation probe walks.
pub fn every_page<R: crate::console::routes::Register>(r: &mut R) {
    r.get("/assets/{name}", crate::console::assets::serve);
    crate::auth::pages::configure(r);
    crate::corrections::pages::configure(r);
    crate::applications::pages::configure(r);
    crate::deadlines::pages::configure(r);
    crate::photo_reviews::pages::configure(r);
    crate::photos::pages::configure(r);
    crate::sync::pages::configure(r);
    crate::households::pages::configure(r);
    crate::dropout::pages::configure(r);
    crate::campaigns::pages::configure(r);
    crate::accounts::pages::configure(r);
    crate::supervision::pages::configure(r);
    crate::ledgers::pages::configure(r);
    crate::calendar::pages::configure(r);
    crate::audit::pages::configure(r);
}

/// Every route of the console, with who may open it.
pub fn console_table() -> Vec<crate::console::routes::Route> {
    let mut routes = Vec::new();
    every_page(&mut routes);
    routes
}

/// Everything under `/v1` plus health and metrics.
pub fn configure(cfg: &mut ServiceConfig) {
    mount(cfg);
}

/// Mounts every endpoint.
pub fn mount<M: Mount>(cfg: &mut M) {
    cfg.service(crate::ops::health::health)
        .service(crate::ops::health::ready)
        .service(crate::ops::health::metrics)
        .service(crate::auth::http::login)
        .service(crate::auth::http::refresh)
        .service(crate::auth::http::logout)
        .service(crate::accounts::http::me)
        .service(crate::accounts::http::list)
        .service(crate::accounts::http::create)
        .service(crate::accounts::http::get)
        .service(crate::accounts::http::update)
        .service(crate::regions::http::list)
        .service(crate::regions::http::divisions)
        .service(crate::regions::http::create)
        .service(crate::regions::http::get)
        .service(crate::regions::http::update)
        .service(crate::devices::http::register)
        .service(crate::devices::http::list)
        .service(crate::devices::http::revoke)
        .service(crate::access::http::create)
        .service(crate::access::http::list)
        .service(crate::access::http::revoke)
        .service(crate::access::http::for_review)
        .service(crate::access::http::review)
        .service(crate::audit::http::list)
        .service(crate::households::http::create)
        .service(crate::households::http::list)
        .service(crate::households::http::get)
        .service(crate::households::http::update)
        .service(crate::households::http::assign_helper)
        .service(crate::households::http::release_helper)
        .service(crate::households::http::list_candidates)
        .service(crate::households::http::decide_candidate)
        .service(crate::households::http::list_referrals)
        .service(crate::households::http::settle_referral)
        .service(crate::applications::programs_http::list)
        .service(crate::applications::programs_http::get)
        .service(crate::applications::programs_http::create)
        .service(crate::applications::programs_http::get_year)
        .service(crate::applications::programs_http::put_year)
        .service(crate::applications::http::wechat_login)
        .service(crate::applications::http::wechat_refresh)
        .service(crate::applications::http::create)
        .service(crate::applications::http::list)
        .service(crate::applications::http::get)
        .service(crate::applications::http::update)
        .service(crate::applications::http::submit)
        .service(crate::applications::http::revise)
        .service(crate::applications::http::decide)
        .service(crate::applications::http::material)
        .service(crate::payments::http::exit_candidates)
        .service(crate::payments::http::get)
        .service(crate::payments::http::pay)
        .service(crate::payments::http::list)
        .service(crate::payments::http::record_income)
        .service(crate::payments::http::exit_step)
        .service(crate::payments::calculations_http::assess)
        .service(crate::payments::calculations_http::aid_check)
        .service(crate::sync::http::push)
        .service(crate::sync::http::pull)
        .service(crate::sync::http::digest)
        .service(crate::sync::http::repair_buckets)
        .service(crate::sync::http::schema)
        .service(crate::sync::http::list_conflicts)
        .service(crate::sync::http::resolve_conflict)
        .service(crate::sync::supervision_http::devices)
        .service(crate::sync::supervision_http::quarantine)
        .service(crate::sync::supervision_http::settle)
        .service(crate::photos::uploads::http::create)
        .service(crate::photos::uploads::http::outstanding)
        .service(crate::photos::uploads::http::progress)
        .service(crate::photos::uploads::http::tell_offset)
        .service(crate::photos::uploads::http::discover)
        .service(crate::photos::uploads::http::discover_upload)
        .service(crate::photos::uploads::http::append)
        .service(crate::photos::uploads::http::cancel)
        .service(crate::photos::http::download)
        .service(crate::photo_reviews::http::queue)
        .service(crate::photo_reviews::http::backlog)
        .service(crate::photo_reviews::http::decide)
        .service(crate::case_numbers::http::reserve)
        .service(crate::case_numbers::http::list)
        .service(crate::deadlines::http::work_list)
        .service(crate::deadlines::http::compliance)
        .service(crate::deadlines::http::list)
        .service(crate::campaigns::http::create)
        .service(crate::campaigns::http::list)
        .service(crate::campaigns::http::get)
        .service(crate::campaigns::http::progress)
        .service(crate::campaigns::http::complete_phase)
        .service(crate::dropout::http::evaluate)
        .service(crate::dropout::http::record_document)
        .service(crate::dropout::http::home_teaching_compliance)
        .service(crate::corrections::http::get)
        .service(crate::corrections::http::decide)
        .service(crate::supervision::http::metrics)
        // The workbook before `{ledger}`, which would otherwise take its path.
        .service(crate::ledgers::http::list)
        .service(crate::ledgers::http::workbook)
        .service(crate::ledgers::http::export);
}

#[cfg(test)]
mod tests {
    use actix_web::http::Method;

    use super::console_table;
    use crate::console::routes::Gate;
    use crate::domain::role::Permission;

    #[test]
    fn the_console_table_reads_each_gate_from_the_handler() {
        let routes = console_table();
        let gate = |method: Method, path: &str| {
            routes
                .iter()
                .find(|r| r.method == method && r.path == path)
                .map(|r| r.gate)
        };
        assert_eq!(gate(Method::GET, "/login"), Some(Gate::Open));
        assert_eq!(
            gate(Method::GET, "/photo-reviews"),
            Some(Gate::Needs(Permission::ReadPhotoReviews))
        );
        assert_eq!(
            gate(Method::POST, "/photo-reviews/{id}/decision"),
            Some(Gate::Needs(Permission::ReviewPhotos))
        );
        assert_eq!(
            gate(Method::GET, "/audit"),
            Some(Gate::Needs(Permission::ReadAudit))
        );
        // Every page but the sign-in page and the assets asks for a session.
        for r in &routes {
            let open = matches!(r.path, "/login" | "/assets/{name}");
            assert_eq!(r.gate == Gate::Open, open, "{r:?}");
        }
    }
}
