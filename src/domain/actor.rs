//! Who acts: a signed-in user with a role. The flow layer takes an `Actor`; how the
//! request proved who it is belongs to `crate::auth`.

use super::error::Rejection;
use super::user::Role;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: Uuid,
    pub role: Role,
}

/// Which side of an application the actor is on: a member of its brand, or platform staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Member,
    Staff,
}

impl Actor {
    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn party(&self) -> Party {
        if self.is_staff() {
            Party::Staff
        } else {
            Party::Member
        }
    }

    /// Platform staff only (reviewers and admins).
    pub fn require_staff(&self) -> Result<(), Rejection> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(Rejection::role())
        }
    }

    pub fn require_admin(&self) -> Result<(), Rejection> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Rejection::role())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        let a = |role| Actor {
            id: Uuid::nil(),
            role,
        };
        assert_eq!(a(Role::Marketer).party(), Party::Member);
        assert_eq!(a(Role::Reviewer).party(), Party::Staff);
        assert!(a(Role::Marketer).require_staff().is_err());
        assert!(a(Role::Reviewer).require_staff().is_ok());
        assert!(a(Role::Reviewer).require_admin().is_err());
        assert!(a(Role::Admin).require_admin().is_ok());
    }
}
