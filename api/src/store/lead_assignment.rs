//! Who handles a lead, changed by an owner or admin (`assignLead`): the AI, or a person —
//! one member of the team, or the team's queue. The change and its audit row commit together,
//! and so does the end of the lead's AI nurture when a person takes it (its waiting step job
//! cancelled, a `lead.nurture_stopped` audit row): the person follows the lead up instead.
//!
//! Must not: cancel the lead's calls or publish anything (`services::phone_agent::outbound`
//! and the resolver do, after the commit).

use leadline_domain::conversation::Handler;
use leadline_domain::ids::{LeadId, TenantId, UserId};
use leadline_domain::nurture::StopReason;
use leadline_domain::tenant::Role;
use leadline_entity::{leads, memberships};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, TransactionTrait,
};
use serde_json::json;

use super::audit::{record, AuditEntry};
use super::{now, Store};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};

/// A lead's new handler, checked by the caller: `agent` only with HUMAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadAssignment {
    pub handler: Handler,
    /// The member who takes the lead (HUMAN); `None`: the sales team's queue.
    pub agent: Option<UserId>,
}

/// What [`Store::assign_lead`] did.
#[derive(Debug, Clone)]
pub struct LeadAssigned {
    pub lead: leads::Model,
    /// Whether anything changed (a repeat of the current assignment writes nothing).
    pub changed: bool,
    /// The lead's nurture sequence a move to HUMAN stopped, with its cancelled step job.
    pub nurture_stopped: Option<super::nurture::NurtureStopped>,
}

impl Store {
    /// Gives lead `lead_id` to `assignment` and audits it (`lead.assigned`, from and to) in
    /// the same transaction. NOT_FOUND for a lead of another tenant; BAD_USER_INPUT when the
    /// agent is not a member of this tenant who may handle leads (a viewer may not).
    pub async fn assign_lead(
        &self,
        tenant: TenantId,
        actor: Actor,
        lead: LeadId,
        assignment: LeadAssignment,
    ) -> ApiResult<LeadAssigned> {
        let tenant_id = tenant.uuid();
        let lead_id = lead.uuid();
        let tx = self.db.begin().await?;
        if let Some(agent) = assignment.agent.map(UserId::uuid) {
            let role = memberships::Entity::find()
                .filter(memberships::Column::TenantId.eq(tenant_id))
                .filter(memberships::Column::UserId.eq(agent))
                .one(&tx)
                .await?
                .map(|m| m.role);
            let may_handle = role.is_some_and(|role| role != Role::Viewer.as_str());
            if !may_handle {
                return Err(ApiError::bad_input(
                    "agentId",
                    "not a member of this team who can handle leads",
                ));
            }
        }
        let mut query =
            leads::Entity::find_by_id(lead_id).filter(leads::Column::TenantId.eq(tenant_id));
        if self.is_postgres() {
            query = query.lock_exclusive();
        }
        let lead = query.one(&tx).await?.ok_or(ApiError::NotFound("lead"))?;
        let agent = match assignment.handler {
            Handler::Ai => None,
            Handler::Human => assignment.agent.map(UserId::uuid),
        };
        if lead.handler == assignment.handler.as_str() && lead.assigned_user_id == agent {
            tx.rollback().await?;
            return Ok(LeadAssigned {
                lead,
                changed: false,
                nurture_stopped: None,
            });
        }
        let from = json!({"handler": lead.handler, "agentId": lead.assigned_user_id});
        let mut row = lead.into_active_model();
        row.handler = Set(assignment.handler.as_str().to_owned());
        row.assigned_user_id = Set(agent);
        row.updated_at = Set(now());
        let lead = row.update(&tx).await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "lead.assigned",
                target_type: "lead",
                target_id: Some(lead_id.to_string()),
                details: json!({
                    "from": from,
                    "to": {"handler": lead.handler, "agentId": lead.assigned_user_id},
                }),
            },
        )
        .await?;
        let nurture_stopped = match assignment.handler {
            Handler::Human => {
                let stopped = super::nurture::stop_lead_nurture(
                    &tx,
                    tenant_id,
                    lead_id,
                    StopReason::AssignedToHuman,
                )
                .await?
                .into_iter()
                .next();
                if let Some(stopped) = &stopped {
                    record(
                        &tx,
                        tenant_id,
                        actor,
                        AuditEntry {
                            action: "lead.nurture_stopped",
                            target_type: "lead",
                            target_id: Some(lead_id.to_string()),
                            details: json!({
                                "reason": StopReason::AssignedToHuman.as_str(),
                                "stage": stopped.enrollment.step,
                                "stepsSent": stopped.enrollment.steps_sent,
                                "cancelledJob": stopped.cancelled_job.as_ref().map(|j| j.id),
                            }),
                        },
                    )
                    .await?;
                }
                stopped
            }
            Handler::Ai => None,
        };
        tx.commit().await?;
        Ok(LeadAssigned {
            lead,
            changed: true,
            nurture_stopped,
        })
    }
}
