//! The live inbox: interaction changes relayed from PostgreSQL to JetStream ([`relay`]), and
//! served to browsers as Server-Sent Events with the user's notifications ([`sse`]); the
//! relay also tells assignees of changes others made to their items ([`assignee_notices`]).

pub mod assignee_notices;
pub mod relay;
pub mod sse;
