//! Leadline's sea-orm entities: the table layout of ARCHITECTURE.md §3 (see the migration crate).
//!
//! Architecture invariant: these types never appear in the GraphQL schema; the api crate maps
//! them to its own output types, so the table layout is not the public API.

pub mod ai_contexts;
pub mod ai_usage;
pub mod api_keys;
pub mod appointments;
pub mod audit_log;
pub mod call_events;
pub mod calls;
pub mod channel_connections;
pub mod conversations;
pub mod do_not_call_numbers;
pub mod email_verifications;
pub mod instance_settings;
pub mod invites;
pub mod invoices;
pub mod jobs;
pub mod lead_allocation_counters;
pub mod lead_identities;
pub mod lead_score_events;
pub mod leads;
pub mod live_budget_counters;
pub mod live_interactions;
pub mod live_sessions;
pub mod livekit_connections;
pub mod memberships;
pub mod messages;
pub mod nurture_enrollments;
pub mod products;
pub mod stripe_events;
pub mod tenants;
pub mod tickets;
pub mod usage_ledger;
pub mod users;
pub mod web_chat_visitors;
pub mod webhook_receipts;
