//! Leadline's business rules as plain, deterministic functions.
//!
//! Architecture invariant: this crate does no IO. It depends on no async runtime, database,
//! HTTP or Redis crate (CI checks `cargo tree -p leadline-domain`). The current time, random
//! values and new ids come in as arguments, so every rule can be tested with a table.

/// Declares a closed set of stable names: a lifecycle state or a kind that is stored in a text
/// column and shown on the wire. Gives the enum (serde with the same names), `ALL`, `as_str`, a
/// strict `parse` (the exact name; anything else is [`DomainError::UnknownVariant`]) and
/// `Display`, so each name is written once, here in `domain`.
macro_rules! named_enum {
    (
        $(#[$doc:meta])*
        $vis:vis enum $name:ident ($kind:literal) {
            $($(#[$vdoc:meta])* $variant:ident => $stored:literal),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$vdoc])* #[serde(rename = $stored)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($stored),+].len()] = [$($name::$variant),+];

            /// The stable name stored in the database and used on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $stored),+
                }
            }

            /// Parses the stable name (exactly as [`Self::as_str`] writes it).
            pub fn parse(value: &str) -> Result<Self, $crate::DomainError> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == value)
                    .ok_or_else(|| $crate::DomainError::UnknownVariant {
                        kind: $kind,
                        value: value.to_owned(),
                    })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod allocation;
pub mod analysis;
pub mod billing;
pub mod call_analytics;
pub mod call_outcome;
pub mod calls;
pub mod channel;
pub mod compliance;
pub mod conversation;
pub mod dealership;
pub mod error;
pub mod escalation;
pub mod ids;
pub mod job;
pub mod lead;
pub mod live;
pub mod messaging;
pub mod money;
pub mod nurture;
pub mod phone;
pub mod tenant;

pub use error::DomainError;
