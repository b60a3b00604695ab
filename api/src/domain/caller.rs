//! Who is calling: the signed-in user with their role, region, standing scope and grants,
//! as every use case receives them, whatever adapter (JSON API, console, command line)
//! authenticated the call.

use crate::domain::access::{Grants, Scope};
use crate::domain::role::{Permission, Role};
use crate::infra::error::{Error, Result};

/// The signed-in user making the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region_id: String,
    pub region_path: String,
    pub device_id: Option<String>,
    pub session_id: String,
    pub request_id: Option<String>,
    /// The standing scope: own region's subtree and assignments. Everything the caller
    /// reads and changes goes through it.
    pub scope: Scope,
    /// Records readable through a break-the-glass grant: only the reads that name them
    /// honour these, read-only and masked.
    pub grants: Grants,
}

impl Caller {
    /// The caller's own region's subtree, without assignments or grants: what their
    /// administrative acts (accounts, helpers) may touch.
    pub fn jurisdiction(&self) -> Scope {
        Scope::new(vec![self.region_path.clone()])
    }

    /// The caller as named in audit entries.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id.clone()),
            role: Some(self.role),
            device_id: self.device_id.clone(),
            request_id: self.request_id.clone(),
        }
    }

    pub fn require(&self, p: Permission) -> Result<()> {
        if self.role.has(p) {
            Ok(())
        } else {
            Err(Error::forbidden())
        }
    }
}

/// Who acts: a signed-in user on a device, or the operator at the command line.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<String>,
    pub role: Option<Role>,
    pub device_id: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The operator running a `bangfu` command on the server itself.
    pub fn operator() -> Actor {
        Actor::default()
    }
}
