//! HTTP routes. Each handler parses the request, calls one use case of
//! [`strongroom_service`] (which authorizes, changes and records the audit event), and maps
//! the result to an answer.

pub mod audit;
pub mod auth;
pub mod content;
pub mod files;
pub mod grants;
pub mod invitations;
pub mod links;
pub mod passkeys;
pub mod people;
pub mod privacy;
pub mod rooms;
pub mod second_factor;
pub mod settings;
pub mod sign_in;
pub mod system;
pub mod transform;
