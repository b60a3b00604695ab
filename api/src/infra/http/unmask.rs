//! The `unmask` query parameter every read of personal data takes.

use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnmaskQuery {
    /// `true`: show personal data in full. Officers and admins only; recorded in the audit log.
    #[serde(default)]
    pub unmask: bool,
}
