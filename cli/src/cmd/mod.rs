//! One module per command group.

pub mod activation;
pub mod admin;
pub mod deactivate;
pub mod inspect;
pub mod issue;
pub mod keys;
pub mod machine;
pub mod serve;
pub mod status;
pub mod update;
pub mod web;

mod batch;
mod spec;
