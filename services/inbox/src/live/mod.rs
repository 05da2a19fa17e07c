//! The live inbox: interaction changes relayed from PostgreSQL to JetStream ([`relay`]), and
//! served to browsers as Server-Sent Events with the user's notifications ([`sse`]).

pub mod relay;
pub mod sse;
