//! taskman: a small self-hosted task service with expiry warnings.

pub mod api;
pub mod app;
pub mod commands;
pub mod config;
pub mod domain;
pub mod edge;
pub mod expiry;
pub mod metrics;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use config::Config;
