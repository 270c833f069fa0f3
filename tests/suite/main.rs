//! The behavioural suite: the real app over HTTP, on SQLite and on MySQL.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod health;
mod spec;
mod tasks;
