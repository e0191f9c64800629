//! Application services: the use cases that combine stores, providers and domain rules, called
//! by GraphQL resolvers, webhook shims and workers. They take the caller's tenant id explicitly
//! and never see HTTP or GraphQL types.

pub mod ai;
pub mod billing;
pub mod calls;
pub mod conversation;
pub mod inbox;
pub mod live;
pub mod nurture;
pub mod phone_agent;
pub mod redis_conn;
pub mod send_limit;
pub mod support;
pub mod twilio;
pub mod webhooks;
