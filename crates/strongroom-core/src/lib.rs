//! Strongroom's domain: who may do what to which resource.
//!
//! This crate knows nothing of HTTP, databases or async runtimes. It holds the typed ids, the
//! roles and access levels, the one authorization choke point ([`access::authorize`]), the
//! audit event vocabulary and the clock that every time-dependent rule reads.
#![forbid(unsafe_code)]

pub mod access;
pub mod audit;
pub mod clock;
pub mod device;
pub mod ids;
pub mod rights;
pub mod role;

pub use access::{Action, Actor, Denied, LinkHolder, Permit, Principal, Resource, Scope, authorize};
pub use clock::{Clock, SystemClock};
pub use rights::{Capabilities, Capability, Rights};
pub use role::{AccessLevel, Module, ModuleSet, Rank, Role};
