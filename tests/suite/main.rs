//! The behavioural suite: the real app over HTTP, on SQLite and on MySQL.

#[path = "../common/mod.rs"]
mod common;

mod adopt;
mod archive;
mod auth;
mod backup;
mod bad_input;
mod cli;
mod compat;
mod completion;
mod cut_off;
mod data_safety;
mod edges;
mod etag;
mod exhaustion;
mod expiry;
mod faults;
mod forms;
mod galera;
mod generated_client;
mod health;
mod labels;
mod legacy_rows;
mod list_order;
mod nginx;
mod observability;
mod outcomes;
mod priority;
mod proxy;
mod readme;
mod replicas;
mod responses;
mod search;
mod spec;
mod startup;
mod tasks;
mod tokens;
