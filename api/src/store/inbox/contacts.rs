//! Leads as the messaging channels know them: a lead first met on a channel is created with
//! its identity there ([`insert_messaging_lead`], shared by the inbox, the support chat and the
//! live viewers), found again by that identity, renamed from the platform's profile while
//! nobody has renamed it, and marked contacted after a send.
//!
//! Must not: score leads or write their history (`store::leads` does).

use leadline_domain::channel::Channel;

use leadline_domain::conversation::Handler;
use leadline_domain::ids::{LeadId, TenantId};
use leadline_domain::lead::LeadStatus;
use leadline_domain::phone::PhoneNumber;
use leadline_entity::{lead_identities, leads};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};

use uuid::Uuid;

use super::race_or;
use crate::error::{ApiError, ApiResult};
use crate::store::{now, Store};

/// A lead first met on a messaging channel (inbox or support chat).
pub(in crate::store) struct NewMessagingLead<'a> {
    /// The channel's stored name.
    pub channel: &'a str,
    /// The platform's id of the person (phone, PSID, open_id, external user id, visitor id).
    pub external_id: &'a str,
    /// The name the platform shows, kept on the identity.
    pub display_name: Option<String>,
    /// The lead's name.
    pub name: String,
    /// E-mail, when known.
    pub email: Option<String>,
    /// E.164 phone, when known. On a channel whose identity is a phone number it is filled
    /// from `external_id` when the caller has none ([`identity_phone`]).
    pub phone: Option<String>,
}

/// The E.164 number a phone identity carries (WhatsApp's `wa_id` is the number's digits), when
/// `channel` identifies people by phone and the id reads as one.
fn identity_phone(channel: &str, external_id: &str) -> Option<String> {
    Channel::parse(channel)
        .ok()
        .filter(|c| c.identity_is_phone())
        .and_then(|_| PhoneNumber::from_platform_identity(external_id).ok())
        .map(|p| p.as_str().to_owned())
}

/// Inserts a new lead (the inbox's starting score, allocated to the AI or the human team at the
/// tenant's share) with its identity on the channel. A lost race on the identity's unique key is a retryable CONFLICT ([`race_or`]).
/// Every lead whose identity is a phone number gets that number as its phone, here, whichever
/// path created it: the number is the identity, and a lead without it cannot be called back.
pub(in crate::store) async fn insert_messaging_lead(
    tx: &DatabaseTransaction,
    tenant_id: Uuid,
    mut new: NewMessagingLead<'_>,
) -> ApiResult<leads::Model> {
    if new.phone.is_none() {
        new.phone = identity_phone(new.channel, new.external_id);
    }
    // A HUMAN lead's conversations open handled by a person (the assignment queue); the AI
    // stays silent there.
    let (handler, tenant) =
        crate::store::allocation::allocate_lead(tx, TenantId(tenant_id)).await?;
    let lead = crate::store::leads::new_lead_row(
        tenant_id,
        crate::store::NewLead {
            name: new.name,
            email: new.email,
            phone: new.phone,
            company: None,
            status: LeadStatus::New,
            notes: None,
            source_channel: Some(crate::store::Stored::stored(new.channel)?),
        },
        handler,
    )
    .insert(tx)
    .await?;
    crate::store::usage::record_new_lead(tx, &lead).await?;
    let at = lead.created_at;
    lead_identities::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        lead_id: Set(lead.id),
        channel: Set(new.channel.to_owned()),
        external_id: Set(new.external_id.to_owned()),
        display_name: Set(new.display_name),
        created_at: Set(at),
    }
    .insert(tx)
    .await
    .map_err(race_or)?;
    // A WhatsApp lead whose first message goes unanswered by it afterwards is followed up in
    // its own conversation; its next message stops that (`try_ingest`). Other messaging
    // channels have no way to write first outside their window.
    if handler == Handler::Ai && new.channel == Channel::Whatsapp.as_str() {
        crate::store::nurture::enroll_new_lead(tx, &tenant, &lead).await?;
    }
    Ok(lead)
}

impl Store {
    /// The identity of a lead on a channel (whom to send to).
    pub async fn lead_identity(
        &self,
        tenant: TenantId,
        lead: LeadId,
        channel: Channel,
    ) -> ApiResult<lead_identities::Model> {
        let tenant_id = tenant.uuid();
        let lead_id = lead.uuid();
        lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant_id))
            .filter(lead_identities::Column::LeadId.eq(lead_id))
            .filter(lead_identities::Column::Channel.eq(channel.as_str()))
            .order_by_asc(lead_identities::Column::Id)
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("lead identity on this channel"))
    }

    /// Renames a lead only while it still carries `expected` (the name it was created with), so
    /// a name an agent typed meanwhile is never overwritten. Returns the lead when renamed.
    pub async fn rename_lead_if_unchanged(
        &self,
        tenant: TenantId,
        lead: LeadId,
        expected: &str,
        name: &str,
    ) -> ApiResult<Option<leads::Model>> {
        let tenant_id = tenant.uuid();
        let lead_id = lead.uuid();
        let result = leads::Entity::update_many()
            .col_expr(leads::Column::Name, Expr::value(name))
            .col_expr(leads::Column::UpdatedAt, Expr::value(now()))
            .filter(leads::Column::TenantId.eq(tenant_id))
            .filter(leads::Column::Id.eq(lead_id))
            .filter(leads::Column::Name.eq(expected))
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        Ok(leads::Entity::find_by_id(lead_id)
            .filter(leads::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?)
    }

    /// Marks the lead as contacted now (after a successful send).
    pub async fn touch_lead_contacted(&self, tenant: TenantId, lead: LeadId) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let lead_id = lead.uuid();
        let at = now();
        leads::Entity::update_many()
            .col_expr(leads::Column::LastContactedAt, Expr::value(Some(at)))
            .filter(leads::Column::TenantId.eq(tenant_id))
            .filter(leads::Column::Id.eq(lead_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::identity_phone;

    #[test]
    fn a_phone_identity_gives_the_lead_its_number_and_other_identities_do_not() {
        assert_eq!(
            identity_phone("WHATSAPP", "447911123456").as_deref(),
            Some("+447911123456")
        );
        // libphonenumber does not list this range; the platform vouches for the number.
        assert_eq!(
            identity_phone("WHATSAPP", "15550100123").as_deref(),
            Some("+15550100123")
        );
        assert_eq!(identity_phone("WHATSAPP", "not-a-number"), None);
        assert_eq!(identity_phone("INSTAGRAM", "447911123456"), None);
        assert_eq!(identity_phone("WEB_CHAT", "visitor:447911123456"), None);
    }
}
