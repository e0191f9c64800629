//! Leadline's server: everything that does IO on our side (ARCHITECTURE.md §1).
//!
//! Entry points: [`cli::main`] (the `leadline` binary) and [`app::Application`], which builds the
//! whole server from a [`config::Config`] and serves it.

// The GraphQL root's `Send` check walks async-stripe's deeply nested object types (through the
// billing resolvers' futures); the default limit of 128 is reached depending on how features
// unify across the workspace, so it is raised once here.
#![recursion_limit = "256"]

pub mod app;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod config;
pub mod error;
pub mod graphql;
pub mod graphql_client;
pub mod http;
pub mod jobs;
pub mod limit;
pub mod mailer;
pub mod secrets;
pub mod services;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod workers;
