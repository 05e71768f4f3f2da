//! Where Strongroom keeps things: metadata in SQL (SQLite by default, PostgreSQL to scale out,
//! both through one code path) and document bodies in an object store (a local directory by
//! default, any S3-compatible service to scale out).
//!
//! Every multi-row change runs in one database transaction; every blob is written under a fresh
//! key and only referenced by a row once it is complete, so a failed upload leaves nothing.
#![forbid(unsafe_code)]

pub mod audit;
pub mod blob;
pub mod change;
pub mod content;
pub mod convert;
pub mod csv;
pub mod db;
pub mod encryption;
pub mod error;
pub mod grants;
pub mod invitations;
pub mod links;
pub mod login_history;
pub mod passkey_ceremonies;
pub mod password_resets;
pub mod people;
mod pipeline;
pub mod privacy;
pub mod rooms;
mod s3_upload;
pub mod second_factors;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod snapshot;
mod staging;
pub mod throttle;
pub mod usage;

pub use blob::BlobStore;
pub use change::Change;
pub use db::{Backend, Db};
pub use error::StoreError;
