//! The console's route table. Every capability registers its pages through [`Register`],
//! and the table reads who may open each route from the handler's own extractors: a
//! `Page<P>` or `Posted<P, _>` needs permission `P`, a `Signed` needs a browser session,
//! anything else is open to all. The permission is therefore written once, in the
//! handler's signature, and the authorisation probe walks the table
//! (`crate::routes::console_table`) to try every route with every role, so a new page is
//! probed as soon as it is registered.

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, Handler, HttpRequest, Responder};

use crate::auth::caller::PermissionMarker;
use crate::console::{Page, Posted, Signed, errors};
use crate::domain::role::Permission;

/// Who may open a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Anyone: the sign-in page and the assets.
    Open,
    /// Anyone signed in at the console.
    SignedIn,
    /// A signed-in role with this permission.
    Needs(Permission),
}

impl Gate {
    /// The stricter of two gates (a handler names at most one permission).
    fn and(self, other: Gate) -> Gate {
        match (self, other) {
            (Gate::Needs(p), _) | (_, Gate::Needs(p)) => Gate::Needs(p),
            (Gate::SignedIn, _) | (_, Gate::SignedIn) => Gate::SignedIn,
            _ => Gate::Open,
        }
    }
}

/// The gate an extractor puts on a route (none, for those that only read the request).
pub trait Gated {
    fn gate() -> Gate {
        Gate::Open
    }
}

impl<T: ?Sized> Gated for web::Data<T> {}
impl<T> Gated for web::Path<T> {}
impl<T> Gated for web::Query<T> {}
impl<T> Gated for web::Form<T> {}
impl Gated for HttpRequest {}
impl Gated for Bytes {}
impl Gated for Payload {}
impl Gated for () {}

impl Gated for Signed {
    fn gate() -> Gate {
        Gate::SignedIn
    }
}

impl<P: PermissionMarker> Gated for Page<P> {
    fn gate() -> Gate {
        Gate::Needs(P::PERMISSION)
    }
}

impl<P: PermissionMarker, T> Gated for Posted<P, T> {
    fn gate() -> Gate {
        Gate::Needs(P::PERMISSION)
    }
}

/// A handler's arguments: the strictest gate among them.
macro_rules! gated_tuple {
    ($($t:ident),+) => {
        impl<$($t: Gated),+> Gated for ($($t,)+) {
            fn gate() -> Gate {
                Gate::Open$(.and($t::gate()))+
            }
        }
    };
}
gated_tuple!(A);
gated_tuple!(A, B);
gated_tuple!(A, B, C);
gated_tuple!(A, B, C, D);
gated_tuple!(A, B, C, D, E);
gated_tuple!(A, B, C, D, E, F);

/// One route of the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// The path template, with `{name}` parameters as actix writes them.
    pub path: &'static str,
    pub gate: Gate,
}

/// Where pages are registered: the server's configuration, or the table of routes.
pub trait Register {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + Gated + 'static,
        F::Output: Responder + 'static;

    fn get<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + Gated + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::GET, path, handler)
    }

    fn post<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + Gated + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::POST, path, handler)
    }
}

/// A console address whose path or query cannot be read answers a page, not the API's
/// problem document.
fn unreadable(e: impl Into<actix_web::Error>) -> actix_web::Error {
    actix_web::error::InternalError::from_response(e.into(), errors::bad_address_page()).into()
}

impl Register for web::ServiceConfig {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + Gated + 'static,
        F::Output: Responder + 'static,
    {
        // One resource per method, as `route` makes them, so that GET and POST of one
        // address stay apart; each reads its path and query with the pages' errors.
        self.service(
            web::resource(path)
                .guard(actix_web::guard::Method(method))
                .app_data(web::PathConfig::default().error_handler(|e, _| unreadable(e)))
                .app_data(web::QueryConfig::default().error_handler(|e, _| unreadable(e)))
                .route(web::route().to(handler)),
        );
        self
    }
}

impl Register for Vec<Route> {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, _: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + Gated + 'static,
        F::Output: Responder + 'static,
    {
        self.push(Route {
            method,
            path,
            gate: Args::gate(),
        });
        self
    }
}
