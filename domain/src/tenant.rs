//! Tenancy and access rules: slugs, e-mail and password policy, roles and what each may do,
//! API-key scopes and the tenant settings with a constrained range.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A tenant's URL-safe handle, used in webhook paths (`/api/webhook/whatsapp/{slug}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

impl TenantSlug {
    /// 3–40 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let slug = input.trim();
        let ok_chars = slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_len = (3..=40).contains(&slug.len());
        let ok_edges = !slug.starts_with('-') && !slug.ends_with('-');
        if ok_chars && ok_len && ok_edges {
            Ok(Self(slug.to_owned()))
        } else {
            Err(DomainError::InvalidSlug(input.to_owned()))
        }
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, trimmed and lower-cased (addresses are compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// A pragmatic check: one `@`, a non-empty local part, a dotted domain, no spaces, ≤254 bytes.
    /// Deliverability is the mail server's business, not ours.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let email = input.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(email))
        } else {
            Err(DomainError::InvalidEmail(input.to_owned()))
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Minimum password length (NIST SP 800-63B recommends at least 8).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Maximum password length: bounds the hashing work an attacker can ask of us.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Checks a new password against the policy.
pub fn check_password_policy(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::InvalidPassword(format!(
            "use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(DomainError::InvalidPassword(format!(
            "use at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// A member's role in a tenant, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Owner,
    Admin,
    Agent,
    Viewer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Agent, Role::Viewer];

    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Admin => "ADMIN",
            Role::Agent => "AGENT",
            Role::Viewer => "VIEWER",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == value)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "role",
                value: value.to_owned(),
            })
    }

    /// What the role may do.
    pub fn permissions(self) -> Permissions {
        match self {
            Role::Owner | Role::Admin => Permissions {
                read: true,
                write: true,
                administer: true,
                report_calls: true,
            },
            Role::Agent => Permissions {
                read: true,
                write: true,
                administer: false,
                report_calls: true,
            },
            Role::Viewer => Permissions {
                read: true,
                write: false,
                administer: false,
                report_calls: false,
            },
        }
    }

    /// Whether a member with this role may grant (or take away) `other`. Only an owner can make
    /// or unmake an owner; admins manage everyone else.
    pub fn can_manage(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => other != Role::Owner,
            Role::Agent | Role::Viewer => false,
        }
    }
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApiKeyScope {
    Read,
    Write,
    /// Reports on calls (`appendCallTranscript`, `recordCallOutcome`) and nothing else: the
    /// voice agent's key, which should not be able to read the CRM if it leaks.
    Calls,
}

impl ApiKeyScope {
    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyScope::Read => "READ",
            ApiKeyScope::Write => "WRITE",
            ApiKeyScope::Calls => "CALLS",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        match value {
            "READ" => Ok(ApiKeyScope::Read),
            "WRITE" => Ok(ApiKeyScope::Write),
            "CALLS" => Ok(ApiKeyScope::Calls),
            other => Err(DomainError::UnknownVariant {
                kind: "API key scope",
                value: other.to_owned(),
            }),
        }
    }
}

/// The three kinds of access a request can need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    /// Read the tenant's records.
    pub read: bool,
    /// Change leads, products, conversations and other operational records.
    pub write: bool,
    /// Manage members, API keys, channel secrets and tenant configuration.
    pub administer: bool,
    /// Report on calls (transcript lines and outcomes): WRITE includes it; a CALLS key has
    /// only this.
    pub report_calls: bool,
}

impl Permissions {
    /// API keys never administer: a leaked integration key must not be able to mint more keys.
    pub fn for_api_key(scopes: &[ApiKeyScope]) -> Self {
        let write = scopes.contains(&ApiKeyScope::Write);
        Permissions {
            read: scopes.contains(&ApiKeyScope::Read) || write,
            write,
            administer: false,
            report_calls: write || scopes.contains(&ApiKeyScope::Calls),
        }
    }
}

/// The share of new dealership leads routed to the AI agent: one of 0, 25, 50, 75, 100.
pub fn check_ai_lead_percentage(value: i32) -> Result<i32, DomainError> {
    if matches!(value, 0 | 25 | 50 | 75 | 100) {
        Ok(value)
    } else {
        Err(DomainError::OutOfRange {
            field: "aiLeadPercentage",
            message: format!("must be 0, 25, 50, 75 or 100, got {value}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calls_key_reports_on_calls_and_nothing_else() {
        let calls = Permissions::for_api_key(&[ApiKeyScope::Calls]);
        assert_eq!(
            calls,
            Permissions {
                read: false,
                write: false,
                administer: false,
                report_calls: true
            }
        );
        assert!(Permissions::for_api_key(&[ApiKeyScope::Write]).report_calls);
        assert!(!Permissions::for_api_key(&[ApiKeyScope::Read]).report_calls);
        assert!(!Role::Viewer.permissions().report_calls);
        assert!(Role::Agent.permissions().report_calls);
        assert_eq!(ApiKeyScope::parse("CALLS"), Ok(ApiKeyScope::Calls));
    }

    #[test]
    fn slugs() {
        for good in ["acme", "acme-motors", "a1b", "x".repeat(40).as_str()] {
            assert!(TenantSlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ab",
            "Acme",
            "-acme",
            "acme-",
            "ac me",
            "acmé",
            "x".repeat(41).as_str(),
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Ana@Example.COM ").map(|e| e.0),
            Ok("ana@example.com".into())
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@x.com",
            "ana@x",
            "a b@x.com",
            "a@b@c.com",
            "ana@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_policy() {
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy("long enough").is_ok());
        assert!(check_password_policy(&"x".repeat(300)).is_err());
    }

    #[test]
    fn role_permissions() {
        assert!(Role::Owner.permissions().administer);
        assert!(Role::Admin.permissions().administer);
        assert!(!Role::Agent.permissions().administer && Role::Agent.permissions().write);
        assert!(!Role::Viewer.permissions().write && Role::Viewer.permissions().read);
        assert!(Role::Owner.can_manage(Role::Owner));
        assert!(!Role::Admin.can_manage(Role::Owner) && Role::Admin.can_manage(Role::Agent));
        assert!(!Role::Agent.can_manage(Role::Viewer));
    }

    #[test]
    fn api_keys_never_administer() {
        let p = Permissions::for_api_key(&[ApiKeyScope::Read, ApiKeyScope::Write]);
        assert!(p.read && p.write && !p.administer);
        let p = Permissions::for_api_key(&[ApiKeyScope::Read]);
        assert!(p.read && !p.write);
    }

    #[test]
    fn ai_lead_percentage_is_quantised() {
        for ok in [0, 25, 50, 75, 100] {
            assert!(check_ai_lead_percentage(ok).is_ok());
        }
        for bad in [-25, 10, 101] {
            assert!(check_ai_lead_percentage(bad).is_err());
        }
    }
}
