//! The tool's own OpenStack client: Keystone v3 auth and catalog, and the
//! Neutron, Octavia and Nova calls the workflows make, with typed answers.
//!
//! [`CloudConfig`] reads clouds.yaml or `OS_*` variables; [`OpenStack`] is the
//! authenticated session; every call returns [`Error`] with the service's own
//! message. Mutating calls return an [`Outcome`] carrying the HTTP status.

mod client;
mod config;
mod error;
pub mod neutron;
pub mod neutron_read;
pub mod nova;
pub mod octavia;
pub mod roles;

pub use client::{CatalogEntry, Endpoint, OpenStack, Outcome, Query, Service};
pub use config::{CloudConfig, Credentials, Secret, clouds_yaml_candidates};
pub use error::Error;
