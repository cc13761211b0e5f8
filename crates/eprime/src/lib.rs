//! The `eprime` program as a library: what `main` runs, reusable by the integration tests,
//! which start the very same server on a random port.

pub mod cli;
pub mod database;
pub mod db;
pub mod descriptors;
pub mod documents;
pub mod running;
pub mod users;

pub use running::{RunningServer, ServeOptions, start};
