//! Typed identifiers. Every id is a UUID (version 7, so ids sort by creation time) kept in its
//! text form; a value of one of these types has been parsed, so a route handler can never mix a
//! folder id up with a file id or pass unvalidated text to the database.

use std::fmt;

/// An id string that is not a UUID.
#[derive(Debug, thiserror::Error)]
#[error("not a valid id: expected a UUID")]
pub struct InvalidId;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().hyphenated().to_string())
            }
            /// Parses untrusted text; only canonical lower-case hyphenated UUIDs are accepted.
            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                let u = uuid::Uuid::try_parse(s).map_err(|_| InvalidId)?;
                Ok(Self(u.hyphenated().to_string()))
            }
            /// Wraps a value read back from our own database.
            pub fn from_trusted(s: String) -> Self {
                Self(s)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }
    };
}

id_type!(/// A user account.
    UserId);
id_type!(/// A group of users.
    GroupId);
id_type!(/// A room: the unit of membership and access.
    RoomId);
id_type!(/// A folder inside a room (every room has a root folder).
    FolderId);
id_type!(/// A file; its content lives in numbered versions.
    FileId);
id_type!(/// A personal API token (the id, never the secret).
    TokenId);
id_type!(/// An external link (the id, never the secret in its URL).
    LinkId);
id_type!(/// An invitation to make an account (the id, never the secret in its link).
    InvitationId);
id_type!(/// A second factor of a person: an authenticator app, a phone, a passkey.
    FactorId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_normalises_and_rejects_garbage() {
        let id = FileId::parse("0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B").unwrap();
        assert_eq!(id.as_str(), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        assert!(FileId::parse("../../etc/passwd").is_err());
        assert!(FileId::parse("").is_err());
        assert_ne!(FileId::generate(), FileId::generate());
    }
}
