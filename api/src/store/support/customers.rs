//! Support-chat customers: a customer IS a lead with a WEB_CHAT identity, either the tenant's
//! `externalUserId` (created or found on sign-in) or `visitor:<id>` for an anonymous visitor,
//! whose rotating resume secret is kept only as a hash (`web_chat_visitors`).
//!
//! Must not: issue tokens (the support service does) or keep a secret in clear.

use leadline_domain::ids::TenantId;
use leadline_entity::{lead_identities, leads, web_chat_visitors};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use super::WEB_CHAT;
use crate::error::{ApiError, ApiResult};
use crate::store::inbox::race_or as retryable;
use crate::store::{now, Store};

/// An anonymous visitor, as `startVisitorSession` found or made it.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The visitor id (`visitor:<id>` is its WEB_CHAT identity).
    pub id: Uuid,
    /// The lead the visitor is.
    pub lead: leads::Model,
}

impl Store {
    /// Whether the lead still has the WEB_CHAT identity a customer token names (deleting the
    /// lead revokes its tokens at once).
    pub async fn web_chat_identity_exists(
        &self,
        tenant: TenantId,
        lead_id: Uuid,
        external_id: &str,
    ) -> ApiResult<bool> {
        let tenant_id = tenant.uuid();
        Ok(lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant_id))
            .filter(lead_identities::Column::Channel.eq(WEB_CHAT))
            .filter(lead_identities::Column::ExternalId.eq(external_id))
            .filter(lead_identities::Column::LeadId.eq(lead_id))
            .count(&self.db)
            .await?
            > 0)
    }

    /// The lead known on WEB_CHAT as `external_id`, created (50/WARM, source WEB_CHAT) with its
    /// identity when new. An existing lead keeps its name (an agent may have corrected it); a
    /// missing e-mail is filled in. Returns the lead and whether it was created.
    pub async fn upsert_web_chat_customer(
        &self,
        tenant: TenantId,
        external_id: &str,
        name: &str,
        email: Option<&str>,
    ) -> ApiResult<(leads::Model, bool)> {
        let tenant_id = tenant.uuid();
        // Two first requests for one customer race on the identity's unique key; the loser
        // finds the winner's row on its second pass.
        let mut last = None;
        for _ in 0..2 {
            let tx = self.db.begin().await?;
            match upsert_customer_in(&tx, tenant_id, external_id, name, email).await {
                Ok(found) => {
                    tx.commit().await.map_err(retryable)?;
                    return Ok(found);
                }
                Err(error @ ApiError::Conflict(_)) => last = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last.unwrap_or_else(|| ApiError::Conflict("concurrent sign-in; retry".into())))
    }

    /// Continues the visitor `visitor_id` of the tenant if `presented_hash` is the hash of its
    /// current resume secret, replacing it with `next_hash` in the same statement — so the
    /// presented secret stops working at once, and of two resumes racing with one secret only
    /// one wins. `None` (nothing changed) for an unknown visitor, another tenant's, a wrong or
    /// already-rotated secret, or a visitor whose lead was deleted.
    pub async fn resume_visitor(
        &self,
        tenant: TenantId,
        visitor_id: Uuid,
        presented_hash: &str,
        next_hash: &str,
    ) -> ApiResult<Option<Visitor>> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let rotated = web_chat_visitors::Entity::update_many()
            .col_expr(
                web_chat_visitors::Column::SecretHash,
                Expr::value(next_hash),
            )
            .col_expr(web_chat_visitors::Column::RotatedAt, Expr::value(now()))
            .filter(web_chat_visitors::Column::Id.eq(visitor_id))
            .filter(web_chat_visitors::Column::TenantId.eq(tenant_id))
            .filter(web_chat_visitors::Column::SecretHash.eq(presented_hash))
            .exec(&tx)
            .await?
            .rows_affected;
        if rotated != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let visitor = web_chat_visitors::Entity::find_by_id(visitor_id)
            .filter(web_chat_visitors::Column::TenantId.eq(tenant_id))
            .one(&tx)
            .await?;
        let lead = match visitor {
            Some(visitor) => {
                leads::Entity::find_by_id(visitor.lead_id)
                    .filter(leads::Column::TenantId.eq(tenant_id))
                    .one(&tx)
                    .await?
            }
            None => None,
        };
        let Some(lead) = lead else {
            tx.rollback().await?;
            return Ok(None);
        };
        tx.commit().await?;
        Ok(Some(Visitor {
            id: visitor_id,
            lead,
        }))
    }

    /// A new visitor: a fresh random visitor id, its lead (named `name`) with the WEB_CHAT
    /// identity `visitor:<id>`, and the hash of its first resume secret, in one transaction.
    pub async fn create_visitor(
        &self,
        tenant: TenantId,
        name: Option<String>,
        secret_hash: &str,
    ) -> ApiResult<Visitor> {
        let tenant_id = tenant.uuid();
        // v4: random, so the id says nothing about when or where it was made. Never taken from
        // the client: an id a client picks could be someone else's.
        let visitor_id = Uuid::new_v4();
        let external_id = format!("visitor:{visitor_id}");
        let short = visitor_id.simple().to_string();
        let display = name.unwrap_or_else(|| format!("Visitor {}", &short[..6]));
        let tx = self.db.begin().await?;
        let lead = crate::store::inbox::insert_messaging_lead(
            &tx,
            tenant_id,
            crate::store::inbox::NewMessagingLead {
                channel: WEB_CHAT,
                external_id: &external_id,
                display_name: Some(display.clone()),
                name: display,
                email: None,
                phone: None,
            },
        )
        .await?;
        let at = now();
        web_chat_visitors::ActiveModel {
            id: Set(visitor_id),
            tenant_id: Set(tenant_id),
            lead_id: Set(lead.id),
            secret_hash: Set(secret_hash.to_owned()),
            created_at: Set(at),
            rotated_at: Set(at),
        }
        .insert(&tx)
        .await
        .map_err(retryable)?;
        tx.commit().await.map_err(retryable)?;
        Ok(Visitor {
            id: visitor_id,
            lead,
        })
    }
}

async fn upsert_customer_in(
    tx: &DatabaseTransaction,
    tenant_id: Uuid,
    external_id: &str,
    name: &str,
    email: Option<&str>,
) -> ApiResult<(leads::Model, bool)> {
    let identity = lead_identities::Entity::find()
        .filter(lead_identities::Column::TenantId.eq(tenant_id))
        .filter(lead_identities::Column::Channel.eq(WEB_CHAT))
        .filter(lead_identities::Column::ExternalId.eq(external_id))
        .one(tx)
        .await?;
    let at = now();
    if let Some(identity) = identity {
        let lead = leads::Entity::find_by_id(identity.lead_id)
            .filter(leads::Column::TenantId.eq(tenant_id))
            .one(tx)
            .await?
            .ok_or(ApiError::NotFound("customer"))?;
        if let (None, Some(email)) = (&lead.email, email) {
            let mut row = lead.into_active_model();
            row.email = Set(Some(email.to_owned()));
            row.updated_at = Set(at);
            return Ok((row.update(tx).await?, false));
        }
        return Ok((lead, false));
    }
    let lead = crate::store::inbox::insert_messaging_lead(
        tx,
        tenant_id,
        crate::store::inbox::NewMessagingLead {
            channel: WEB_CHAT,
            external_id,
            display_name: Some(name.to_owned()),
            name: name.to_owned(),
            email: email.map(str::to_owned),
            phone: None,
        },
    )
    .await?;
    Ok((lead, true))
}
