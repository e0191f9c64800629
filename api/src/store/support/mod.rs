//! Support chat rows. A support session IS a conversation on channel WEB_CHAT (it shares the
//! inbox's messages, tickets, job queue and AI turn); a customer IS a lead with a WEB_CHAT
//! identity (the tenant's `externalUserId`, or `visitor:<id>` for anonymous visitors). So this
//! module adds one table only, `web_chat_visitors` (the hash of each visitor's rotating resume
//! secret), and otherwise the queries the support chat needs on top of the inbox's rows.
//!
//! One file per concern: `customers` (who the customer is), `sessions` (opening, the queue,
//! assignment and ending) and `messages` (the customer's messages, receipts, history).
//!
//! Every function takes the tenant id; those a customer reaches also take the lead id, so a
//! session of another customer is NOT_FOUND exactly like a session of another tenant.

mod customers;
mod messages;
mod sessions;

pub use customers::Visitor;
pub use messages::{CustomerMessage, CustomerMessageLimits, ReadSide};
pub use sessions::{waiting_since, AssignRefusal};

use leadline_entity::conversations;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

const WEB_CHAT: &str = "WEB_CHAT";

async fn session_in<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> ApiResult<conversations::Model> {
    conversations::Entity::find_by_id(id)
        .filter(conversations::Column::TenantId.eq(tenant_id))
        .filter(conversations::Column::Channel.eq(WEB_CHAT))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("support session"))
}
