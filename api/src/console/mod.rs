//! The officers' console: server-rendered pages at `/`, beside the API under `/v1`.
//!
//! What every page shares lives here: the browser session and the caller it stands for
//! (`session`), the form token and origin checks and the answer headers (`respond`), the
//! stylesheet and script (`assets`), the frame of every page (`layout`), how values are
//! written (`format`), how refusals become pages (`errors`) and the table of routes with
//! who may open each (`routes`). Each capability renders
//! its own pages in its `pages.rs`, calling its own service exactly as its `http.rs` does;
//! `routes::pages` mounts them.

pub mod assets;
pub mod choices;
pub mod errors;
pub mod format;
pub mod layout;
pub mod respond;
pub mod routes;
pub mod session;

pub use errors::PageError;
pub use layout::Layout;
pub use session::{Page, Posted, Signed};
