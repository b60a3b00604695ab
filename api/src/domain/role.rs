//! Staff roles and what each may do. Endpoints declare the permission they need
//! (see `auth::Require`); this table is the single place that says which role has it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::region::RegionLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 帮扶责任人 / teacher / village cadre working in the field.
    Helper,
    /// Village (first) secretary: reviews photos, collects corrections.
    VillageSecretary,
    TownshipOfficer,
    CountyOfficer,
    /// Read-only supervision: metrics, ledgers, audit trail.
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Helper,
        Role::VillageSecretary,
        Role::TownshipOfficer,
        Role::CountyOfficer,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Helper => "helper",
            Role::VillageSecretary => "village_secretary",
            Role::TownshipOfficer => "township_officer",
            Role::CountyOfficer => "county_officer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether a user of this role may create or change users of role `other`: managers
    /// only hand out roles below their own; only an admin makes auditors and admins.
    pub fn may_assign(self, other: Role) -> bool {
        match self {
            Role::Admin => true,
            Role::CountyOfficer => matches!(
                other,
                Role::TownshipOfficer | Role::VillageSecretary | Role::Helper
            ),
            Role::TownshipOfficer => matches!(other, Role::VillageSecretary | Role::Helper),
            _ => false,
        }
    }

    /// Whether an account of this role may belong to a region of this level: a secretary
    /// works in a village, a teacher or helper in a village or at a school, each officer at
    /// their office's level; auditors and admins at a county or above.
    pub fn fits(self, level: RegionLevel) -> bool {
        use RegionLevel as L;
        match self {
            Role::Helper => matches!(level, L::Village | L::School),
            Role::VillageSecretary => level == L::Village,
            Role::TownshipOfficer => level == L::Township,
            Role::CountyOfficer => level == L::County,
            Role::Auditor | Role::Admin => matches!(level, L::County | L::City | L::Province),
        }
    }

    pub fn has(self, permission: Permission) -> bool {
        use Permission as P;
        use Role as R;
        match permission {
            P::ReadRegions | P::RegisterDevice | P::ReadOwnAccount => true,
            P::ManageRegions => self == R::Admin,
            P::SetDibao => matches!(self, R::CountyOfficer | R::Admin),
            P::ReadUsers => !matches!(self, R::Helper),
            P::ManageUsers => matches!(self, R::TownshipOfficer | R::CountyOfficer | R::Admin),
            P::ReadAudit => matches!(self, R::Auditor | R::Admin),
            P::BreakGlass => matches!(self, R::TownshipOfficer | R::CountyOfficer | R::Auditor),
            // Supervisors look over the grants of those below them afterwards.
            P::ReviewGrants => matches!(self, R::CountyOfficer | R::Auditor | R::Admin),
            P::ManageDevices => matches!(self, R::TownshipOfficer | R::CountyOfficer | R::Admin),
            P::SyncPull => true,
            P::SyncPush => self != R::Auditor,
            P::ResolveConflicts => !matches!(self, R::Helper | R::Auditor),
            P::ReadHouseholds => true,
            P::ManageHouseholds => matches!(
                self,
                R::VillageSecretary | R::TownshipOfficer | R::CountyOfficer | R::Admin
            ),
            P::ManagePrograms => matches!(self, R::CountyOfficer | R::Admin),
            P::ReadApplications => !matches!(self, R::Helper),
            P::ReviewApplications => matches!(
                self,
                R::VillageSecretary | R::TownshipOfficer | R::CountyOfficer | R::Admin
            ),
            P::PayAid => matches!(self, R::CountyOfficer | R::Admin),
            P::SuperviseSync => !matches!(self, R::Helper),
            P::ReviewPhotos => self == R::VillageSecretary,
            P::ReadPhotoReviews => !matches!(self, R::Helper),
            // Ledgers are how supervision is handed upward (R-SUP-2): officers and auditors
            // export their jurisdiction, village secretaries their village. Helpers work
            // from their phones' synced records and hand nothing upward themselves.
            P::ReadLedgers => !matches!(self, R::Helper),
            P::UnmaskPersonalData => {
                matches!(self, R::TownshipOfficer | R::CountyOfficer | R::Admin)
            }
            // Everyone in the field has a work list; auditors read everyone's.
            P::ReadFieldWork => true,
            P::ManageCampaigns => matches!(self, R::TownshipOfficer | R::CountyOfficer | R::Admin),
            // Each level decides at its own level (village, township, county).
            P::DecideCorrections => {
                matches!(
                    self,
                    R::VillageSecretary | R::TownshipOfficer | R::CountyOfficer
                )
            }
            // Notices, decisions and confirmations are made by the staff who issue them.
            P::RecordDropoutDocuments => !matches!(self, R::Auditor | R::Admin),
            P::ReadMetrics => !matches!(self, R::Helper),
        }
    }
}

/// What an endpoint requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadRegions,
    ManageRegions,
    SetDibao,
    ReadUsers,
    ManageUsers,
    ReadAudit,
    /// Read one named record outside one's jurisdiction for a while, with a reason.
    BreakGlass,
    /// Look over the break-the-glass grants of the staff below one, and mark each reviewed.
    ReviewGrants,
    RegisterDevice,
    ManageDevices,
    ReadOwnAccount,
    /// Receive the synced records of one's scope.
    SyncPull,
    /// Send changes captured on a device.
    SyncPush,
    /// Settle a conflict between two devices' changes.
    ResolveConflicts,
    /// Read households in one's jurisdiction or assigned to one.
    ReadHouseholds,
    /// Register households and assign their helpers.
    ManageHouseholds,
    /// Create programs and load the working-day calendar.
    ManagePrograms,
    ReadApplications,
    /// Decide on applications at one's level of the entry process.
    ReviewApplications,
    /// Record aid payments against case files.
    PayAid,
    /// See the sync status of devices and the changes the server refused.
    SuperviseSync,
    /// Export ledgers (台账) of one's scope as spreadsheets; every export is audited.
    ReadLedgers,
    /// See personal data (phone and ID numbers) in full; every such read is audited.
    UnmaskPersonalData,
    /// Approve or reject evidence photos (R-VISIT-3): the village (first) secretary.
    ReviewPhotos,
    /// See the photo review queue and backlog.
    ReadPhotoReviews,
    /// Read one's work list, deadlines, case judgements and compliance in one's scope.
    ReadFieldWork,
    /// Create campaigns and mark their phases done.
    ManageCampaigns,
    /// Accept or reject household corrections at one's level.
    DecideCorrections,
    /// Record dropout-control documents online (a notice, a penalty decision).
    RecordDropoutDocuments,
    /// Read supervision metrics of one's jurisdiction.
    ReadMetrics,
}

impl Permission {
    pub const ALL: [Permission; 30] = [
        Permission::ReadRegions,
        Permission::ManageRegions,
        Permission::SetDibao,
        Permission::ReadUsers,
        Permission::ManageUsers,
        Permission::ReadAudit,
        Permission::BreakGlass,
        Permission::ReviewGrants,
        Permission::RegisterDevice,
        Permission::ManageDevices,
        Permission::ReadOwnAccount,
        Permission::SyncPull,
        Permission::SyncPush,
        Permission::ResolveConflicts,
        Permission::ReadHouseholds,
        Permission::ManageHouseholds,
        Permission::ManagePrograms,
        Permission::ReadApplications,
        Permission::ReviewApplications,
        Permission::PayAid,
        Permission::SuperviseSync,
        Permission::ReadLedgers,
        Permission::UnmaskPersonalData,
        Permission::ReviewPhotos,
        Permission::ReadPhotoReviews,
        Permission::ReadFieldWork,
        Permission::ManageCampaigns,
        Permission::DecideCorrections,
        Permission::RecordDropoutDocuments,
        Permission::ReadMetrics,
    ];

    /// The name the contract gives it (`x-bangfu-permission`): `ReadHouseholds` is
    /// `read_households`.
    pub fn name(self) -> String {
        let mut out = String::new();
        for (i, ch) in format!("{self:?}").chars().enumerate() {
            if ch.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        }
        out
    }

    /// Parses a name of [`Permission::name`].
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_round_trip() {
        assert_eq!(Permission::ReadHouseholds.name(), "read_households");
        for p in Permission::ALL {
            assert_eq!(Permission::parse(&p.name()), Some(p));
        }
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn nobody_but_admin_hands_out_admin_or_auditor() {
        for r in Role::ALL {
            let expected = r == Role::Admin;
            assert_eq!(r.may_assign(Role::Admin), expected, "{r:?}");
            assert_eq!(r.may_assign(Role::Auditor), expected, "{r:?}");
        }
    }

    #[test]
    fn managers_assign_only_below_themselves() {
        assert!(Role::CountyOfficer.may_assign(Role::TownshipOfficer));
        assert!(!Role::CountyOfficer.may_assign(Role::CountyOfficer));
        assert!(Role::TownshipOfficer.may_assign(Role::Helper));
        assert!(!Role::TownshipOfficer.may_assign(Role::TownshipOfficer));
        assert!(!Role::Helper.may_assign(Role::Helper));
    }

    #[test]
    fn ledgers_are_exported_by_those_who_hand_work_upward() {
        for r in Role::ALL {
            assert_eq!(r.has(Permission::ReadLedgers), r != Role::Helper, "{r:?}");
        }
        // Unmasked exports stay with the roles that may unmask anything.
        assert!(!Role::Auditor.has(Permission::UnmaskPersonalData));
        assert!(!Role::VillageSecretary.has(Permission::UnmaskPersonalData));
    }

    #[test]
    fn roles_fit_their_regions_level() {
        use RegionLevel as L;
        assert!(Role::VillageSecretary.fits(L::Village));
        assert!(!Role::VillageSecretary.fits(L::County));
        assert!(Role::Helper.fits(L::School));
        assert!(!Role::Helper.fits(L::Township));
        assert!(Role::TownshipOfficer.fits(L::Township));
        assert!(!Role::CountyOfficer.fits(L::Township));
        assert!(Role::Admin.fits(L::City));
        for r in Role::ALL {
            assert!(L::ALL.iter().any(|l| r.fits(*l)), "{r:?} fits somewhere");
        }
    }

    #[test]
    fn auditors_read_but_do_not_manage() {
        assert!(Role::Auditor.has(Permission::ReadAudit));
        assert!(!Role::Auditor.has(Permission::ManageUsers));
        assert!(!Role::Auditor.has(Permission::SetDibao));
        assert!(!Role::CountyOfficer.has(Permission::ReadAudit));
    }
}
