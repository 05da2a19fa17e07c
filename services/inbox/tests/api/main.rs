//! The inbox API through HTTP against a fresh PostgreSQL database per test, with "now" pinned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod history;

mod actions;
mod auth;
mod busy;
mod directory;
mod filters;
mod leads;
mod live;
mod migrations;
mod notifications;
mod oidc;
mod pages;
mod people;
mod preferences;
mod scope;
mod search;
mod search_words;
mod sla;
mod web;
