//! Assembling and running the server.

use std::net::TcpListener;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::caller::pre_authenticate;
use crate::auth::tokens::Keys;
use crate::contract as openapi;
use crate::contract::RouteTable;
use crate::infra::config::Config;
use crate::infra::db::{Db, migrate};
use crate::infra::error::Error;
use crate::infra::http::envelope::envelope;
use crate::infra::http::json;
use crate::infra::http::metrics::Metrics;
use crate::infra::sealing::DataKey;
use crate::state::{AppState, AuthSettings};

/// Connects to the database, applies pending migrations and prepares the shared state.
pub fn prepare(config: &Config) -> anyhow::Result<AppState> {
    let db = Db::connect(&config.db)?;
    let applied = migrate::run_pending(&mut *db.conn()?)?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    let secret = config.jwt_secret()?;
    let data_key = config.data_key()?;
    let store = crate::infra::blobs::open(&config.photo_store, &config.s3_options)?;
    tracing::info!(store = %store.describe(), "photo store");
    let photos = crate::photos::Photos::new(
        store,
        config.data_dir.join("uploads"),
        crate::photos::Limits::default(),
    )?;
    let leadership =
        crate::infra::db::leadership::Leadership::new(&config.db.target, config.leader_retry);
    Ok(AppState {
        leadership,
        db,
        keys: Keys::from_secret(secret.as_bytes()),
        data_key: DataKey::from_secret(data_key.as_bytes()),
        auth: AuthSettings {
            access_ttl_secs: config.access_token_minutes * 60,
            ..AuthSettings::default()
        },
        http: reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| anyhow::anyhow!("HTTP client: {e}"))?,
        wechat: config.wechat.clone(),
        hlc: crate::state::server_clock(),
        body_pace: config.body_pace,
        cors: config.cors.clone(),
        console: config.console,
        photos: std::sync::Arc::new(photos),
    })
}

/// Unknown paths are 404; known paths with another method are 405 with `Allow` listing
/// every method the path is served with.
async fn fallback(req: HttpRequest, table: web::Data<RouteTable>) -> Result<HttpResponse, Error> {
    match table.allowed(req.path()) {
        Some(methods) if !methods.contains(req.method()) => {
            let allow = methods
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let mut res = actix_web::ResponseError::error_response(&Error::MethodNotAllowed);
            if let Ok(v) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            // The envelope re-renders the body; the Allow header is kept.
            Ok(res)
        }
        // A browser that followed a wrong link gets a page, not a problem document.
        None if crate::console::errors::wants_page(&req) => {
            Ok(crate::console::errors::not_found_page())
        }
        _ => Err(Error::RouteNotFound),
    }
}

/// `HEAD` wherever `GET` is served (and no `HEAD` of its own is): routed as the `GET`,
/// answered with its status and headers and without its body (which is not even made).
async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let as_get = req.method() == Method::HEAD
        && req
            .app_data::<web::Data<RouteTable>>()
            .and_then(|t| t.methods_for(req.path()))
            .is_some_and(|m| m.contains(&Method::GET) && !m.contains(&Method::HEAD));
    if as_get {
        req.head_mut().method = Method::GET;
    }
    let res = next.call(req).await?;
    Ok(if as_get {
        res.map_body(|_, _| BoxBody::new(actix_web::body::None::new()))
    } else {
        res.map_into_boxed_body()
    })
}

/// Starts serving on `listener`. The returned server runs until stopped.
pub fn run(
    state: AppState,
    listener: TcpListener,
    workers: usize,
) -> anyhow::Result<actix_web::dev::Server> {
    let doc = openapi::document();
    let table = web::Data::new(RouteTable::from_doc(&doc));
    // What the envelope and the body pacing read, as data of their own.
    let pace = web::Data::new(state.body_pace);
    let cors = web::Data::new(state.cors.clone());
    let clock = web::Data::new(state.db.clock().clone());
    let state = web::Data::new(state);
    let metrics = web::Data::new(Metrics::new()?);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(pace.clone())
            .app_data(cors.clone())
            .app_data(clock.clone())
            .app_data(metrics.clone())
            .app_data(table.clone())
            .app_data(web::QueryConfig::default().error_handler(json::query_error))
            .app_data(web::PathConfig::default().error_handler(json::path_error))
            .into_utoipa_app()
            .configure(crate::routes::configure)
            .into_app()
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .url("/openapi.json", doc.clone())
                    .config(SwaggerConfig::new(["/openapi.json"]).validator_url("none")),
            )
            .service(web::redirect("/docs", "/docs/"))
            // The officers' console: pages at `/`, after the API so nothing shadows it.
            .configure(crate::routes::pages)
            .default_service(web::to(fallback))
            .wrap(from_fn(pre_authenticate))
            .wrap(from_fn(head_as_get))
            .wrap(from_fn(crate::photos::uploads::tus::protocol))
            .wrap(from_fn(
                crate::infra::http::method_override::method_override,
            ))
            .wrap(from_fn(crate::infra::http::pace::pace_bodies))
            .wrap(from_fn(json::refuse_nul_in_query))
            .wrap(from_fn(envelope))
            // Answers are gzip-compressed for clients that accept it (pulls shrink several-fold).
            .wrap(actix_web::middleware::Compress::default())
            // Outermost: a preflight is answered before anything else, and every answer
            // to an allowed origin carries the CORS headers.
            .wrap(from_fn(crate::infra::http::cors::cors))
    })
    .workers(workers.max(1))
    // A client that trickles its request must not hold a worker: bounded header time.
    .client_request_timeout(std::time::Duration::from_secs(10))
    .client_disconnect_timeout(std::time::Duration::from_secs(5))
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

/// `bangfu serve`: prepare, bind and serve until interrupted.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = prepare(&config)?;
    let listener = TcpListener::bind(config.addr)?;
    tracing::info!(
        addr = %listener.local_addr()?,
        database = %config.db.target.redacted(),
        "bangfu serving; API docs at /docs/"
    );
    // The projector and the housekeeping run on the instance that leads them (one among
    // instances on one PostgreSQL; on SQLite, this one).
    crate::ops::background::start(&state);
    let server = run(state, listener, config.workers)?;
    #[cfg(feature = "fault-injection")]
    crate::sync::fault::arm();
    server.await?;
    Ok(())
}
