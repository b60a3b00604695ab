//! The `unmask` and `reason` query parameters every read of personal data takes.

use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnmaskQuery {
    /// `true`: show personal data in full. Officers and admins only, with a `reason`;
    /// recorded in the audit log.
    #[serde(default)]
    pub unmask: bool,
    /// Why the data is needed in full (at least 4 letters or digits, at most 500
    /// characters): required with `unmask=true`, kept in the audit entry.
    pub reason: Option<String>,
}

impl UnmaskQuery {
    /// The reason stated for unmasking, when unmasking is asked for (empty if none was
    /// given, which the use case refuses).
    pub fn stated(&self) -> Option<String> {
        self.unmask.then(|| self.reason.clone().unwrap_or_default())
    }
}
