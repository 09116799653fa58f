//! Who may do what, where. A role is granted on an organisation unit and covers that unit and
//! everything below it (its path is a prefix of theirs).

pub mod identity;
pub mod privacy;
pub mod signed_token;

use crate::domain::ledger::string_enum;

string_enum! {
    /// Staff roles. One person may hold several grants, each scoped to a unit.
    Role {
        PlatformAdmin => "platform_admin",
        OrgAdmin => "org_admin",
        Organiser => "organiser",
        Clerk => "clerk",
        Auditor => "auditor",
    }
}

/// What a request wants to do. Each endpoint names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create organisation units and banks below a unit.
    ManageOrgs,
    /// Grant and revoke roles below a unit.
    ManageStaff,
    /// See accounts, entries, statements and verification reports.
    ReadLedger,
    /// Open member accounts.
    OpenAccounts,
    /// Award, deduct, transfer, adjust, reverse.
    PostEntries,
    /// Place, capture and release holds (the supermarket counter).
    ManageHolds,
    /// Read the audit log.
    ReadAudit,
    /// Define the bank's points rules (积分细则).
    ManageRules,
    /// Award or deduct points under a rule, submit claims for members, approve claims.
    AwardPoints,
    /// Create and run activities: publish, show check-in QR codes, scan cards, correct
    /// attendance, settle, decide appeals; sign members up on their behalf.
    RunActivities,
    /// Open shops and define their goods.
    ManageShops,
    /// Work the supermarket counter: stock in, donations, orders for members, pickups, day lists.
    ServeCounter,
    /// Change how members sign in: undo a WeChat binding.
    ManageMembers,
}

impl Role {
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::PlatformAdmin | Role::OrgAdmin => true,
            Role::Auditor => matches!(action, ReadLedger | ReadAudit),
            Role::Clerk => matches!(action, ReadLedger | ManageHolds | ServeCounter),
            Role::Organiser => matches!(action, ReadLedger | OpenAccounts | RunActivities),
        }
    }
}

/// A role on a subtree. `path` is the unit's materialised path (`/1/4/`); a platform
/// administrator's grant covers `/`, the whole tree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    pub role: String,
    pub path: String,
}

impl Grant {
    pub fn covers(&self, target_path: &str) -> bool {
        target_path.starts_with(&self.path)
    }
}

/// Whether any grant allows `action` on the unit at `target_path`.
pub fn permits(grants: &[Grant], action: Action, target_path: &str) -> bool {
    grants.iter().any(|grant| {
        Role::parse(&grant.role).is_some_and(|role| role.allows(action))
            && grant.covers(target_path)
    })
}

/// The materialised path of a unit below `parent_path`.
pub fn child_path(parent_path: Option<&str>, id: i64) -> String {
    format!("{}{id}/", parent_path.unwrap_or("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(role: Role, path: &str) -> Grant {
        Grant {
            role: role.as_str().into(),
            path: path.into(),
        }
    }

    #[test]
    fn a_grant_covers_its_unit_and_everything_below_only() {
        let village_admin = [grant(Role::OrgAdmin, "/1/2/")];
        assert!(permits(&village_admin, Action::PostEntries, "/1/2/"));
        assert!(permits(&village_admin, Action::PostEntries, "/1/2/7/"));
        assert!(!permits(&village_admin, Action::PostEntries, "/1/3/"));
        assert!(!permits(&village_admin, Action::PostEntries, "/1/"));
        // `/1/2/` must not cover `/1/23/`: paths end with a slash for this reason.
        assert!(!permits(&village_admin, Action::PostEntries, "/1/23/"));
    }

    #[test]
    fn roles_allow_only_their_work() {
        let here = "/1/2/";
        let auditor = [grant(Role::Auditor, here)];
        assert!(permits(&auditor, Action::ReadLedger, here));
        assert!(!permits(&auditor, Action::PostEntries, here));
        let clerk = [grant(Role::Clerk, here)];
        assert!(permits(&clerk, Action::ManageHolds, here));
        assert!(!permits(&clerk, Action::PostEntries, here));
        let organiser = [grant(Role::Organiser, here)];
        assert!(permits(&organiser, Action::OpenAccounts, here));
        assert!(!permits(&organiser, Action::ManageMembers, here));
        assert!(permits(
            &[grant(Role::OrgAdmin, here)],
            Action::ManageMembers,
            here
        ));
        let platform = [grant(Role::PlatformAdmin, "/")];
        assert!(permits(&platform, Action::ManageStaff, "/9/9/"));
        assert!(!permits(
            &[grant(Role::Organiser, "/")],
            Action::ManageHolds,
            here
        ));
    }
}
