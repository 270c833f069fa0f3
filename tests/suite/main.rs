//! The behavioural suite: the real app over HTTP, on SQLite and on MySQL.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod expiry;
mod health;
mod replicas;
mod spec;
mod tasks;
