//! Who is asking: password hashing, browser sessions with CSRF tokens, personal API tokens and
//! the one-time setup token. Secrets are random 256-bit values shown once; only their SHA-256
//! hashes are stored, and every comparison of a secret is constant-time.
#![forbid(unsafe_code)]

pub mod codes;
pub mod password;
pub mod session;
pub mod token;
pub mod totp;

pub use session::AuthError;
