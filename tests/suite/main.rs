//! The behavioural suite: the real app over HTTP, on SQLite and on MySQL.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod bad_input;
mod data_safety;
mod etag;
mod expiry;
mod faults;
mod generated_client;
mod health;
mod readme;
mod replicas;
mod spec;
mod tasks;
