//! relance-inbox: the workflow inbox HTTP API, one-click actions, bulk edits, CSV exports, hot
//! leads, and tokens. Where to look:
//! - the filters and due windows: [`filters`]; the SQL (page, totals, stats, export) and its
//!   order: [`query`]; the free-text search and its word index: [`search`]; the page cursor:
//!   [`cursor`]; background chores: [`chores`];
//! - one interaction's reads and writes: [`interactions`]; bulk edits: [`bulk`];
//! - hot leads and score history: [`leads`]; CSV: [`csv_export`];
//! - people and organisations as the web app reads them: [`people`];
//! - a user's notification preferences (email off, instant or daily): [`preferences`];
//! - the CRM's directory (users, organisations, people; erasure, merge): [`directory`];
//! - the live inbox (change relay, SSE): [`live`]; what one user may hold at once: [`slots`];
//! - tokens: [`auth`] (one verifier: HS256 and the company's OpenID provider); the handlers: [`handlers`]; the route table: [`routes`]; OpenAPI:
//!   [`openapi`]; the web app: [`web`];
//! - what handlers share: [`state`]; building and serving: [`startup`].

pub mod auth;
pub mod bulk;
pub mod chores;
pub mod clock;
pub mod csv_export;
pub mod cursor;
pub mod directory;
pub mod fields;
pub mod filters;
pub mod handlers;
pub mod history;
pub mod interactions;
pub mod leads;
pub mod live;
pub mod openapi;
pub mod people;
pub mod preferences;
pub mod query;
pub mod routes;
pub mod scope;
pub mod search;
pub mod sla;
pub mod slots;
pub mod startup;
pub mod state;
pub mod web;

pub use startup::Application;
pub use state::AppState;
