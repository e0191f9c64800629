//! The dealership AI phone agent in GraphQL (issue 15): its settings on `updateTenantSettings`
//! (read and validated here, stored by `store::tenants`), the appointments it books
//! (`appointments`), and the agent being started or stopped (`phoneAgentStatus`).
//!
//! Readers read; owners and admins change settings (through `updateTenantSettings`'s guard).
//! Customer and call-agent tokens get nothing here. Must not: talk to Twilio or ElevenLabs (the
//! calls themselves are `services::phone_agent`'s).

use async_graphql::{Context, InputObject, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, NaiveTime, Utc};
use futures::Stream;
use leadline_domain::dealership::{self, BusinessHours, OpeningHours};
use leadline_domain::phone::PhoneNumber;
use leadline_entity::appointments;

use super::subscription::tenant_events;
use super::types::{mirror_enum, Weekday};
use super::{clean_text, state, tenant_for, AccessGuard};
use crate::auth::Access;
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::store::TenantSettingsChanges;

mirror_enum!(
    /// How a phone-agent call ended: APPOINTMENT_BOOKED, TRANSFERRED (to a person),
    /// NOT_INTERESTED, NO_ANSWER, VOICEMAIL or OTHER.
    PhoneCallOutcome => dealership::PhoneCallOutcome {
        AppointmentBooked, Transferred, NotInterested, NoAnswer, Voicemail, Other
    }
);

/// One open day, for `updateTenantSettings.businessHours`.
#[derive(InputObject)]
pub struct BusinessDayInput {
    /// The day (each at most once; days not given are closed).
    pub weekday: Weekday,
    /// Opening time, `HH:MM`.
    pub open: String,
    /// Closing time, `HH:MM`, after `open`.
    pub close: String,
}

fn hh_mm(value: &str) -> ApiResult<NaiveTime> {
    NaiveTime::parse_from_str(value.trim(), "%H:%M")
        .map_err(|_| ApiError::bad_input("businessHours", "times are HH:MM, e.g. 09:30"))
}

/// The phone-agent fields of `updateTenantSettings`, validated; the other fields untouched.
/// Empty strings clear; an empty `businessHours` list goes back to the default week.
#[allow(clippy::too_many_arguments)]
pub fn settings_changes(
    twilio_phone_number: Option<String>,
    elevenlabs_inbound_agent_id: Option<String>,
    elevenlabs_outbound_agent_id: Option<String>,
    dealership_name: Option<String>,
    business_hours: Option<Vec<BusinessDayInput>>,
    appointment_slot_minutes: Option<i32>,
    appointments_per_slot: Option<i32>,
) -> ApiResult<TenantSettingsChanges> {
    let text = |value: Option<String>, field: &str, max: usize| {
        value.map(|v| clean_text(Some(v), field, max)).transpose()
    };
    let agent_id = |value: Option<String>, field: &str| -> ApiResult<Option<Option<String>>> {
        let id = text(value, field, 128)?;
        if let Some(Some(id)) = &id {
            if !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            {
                return Err(ApiError::bad_input(
                    field,
                    "an ElevenLabs agent id has only letters, digits, _ and -",
                ));
            }
        }
        Ok(id)
    };
    let twilio = match text(twilio_phone_number, "twilioPhoneNumber", 32)? {
        Some(Some(number)) => {
            let parsed = PhoneNumber::parse(&number, None)
                .map_err(|e| ApiError::invalid("twilioPhoneNumber", e))?;
            Some(Some(parsed.as_str().to_owned()))
        }
        other => other,
    };
    let hours = match business_hours {
        None => None,
        Some(days) if days.is_empty() => Some(None),
        Some(days) => {
            let days = days
                .iter()
                .map(|d| {
                    Ok(OpeningHours {
                        weekday: d.weekday.into(),
                        open: hh_mm(&d.open)?,
                        close: hh_mm(&d.close)?,
                    })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            let week =
                BusinessHours::new(&days).map_err(|e| ApiError::invalid("businessHours", e))?;
            Some(Some(serde_json::to_value(week).map_err(|e| {
                ApiError::Internal(anyhow::anyhow!("business hours to JSON: {e}"))
            })?))
        }
    };
    let bounded = |value: Option<i32>, field: &str, range: std::ops::RangeInclusive<u32>| {
        value
            .map(|v| match u32::try_from(v) {
                Ok(n) if range.contains(&n) => Ok(v),
                _ => Err(ApiError::bad_input(
                    field,
                    format!("must be {} to {}", range.start(), range.end()),
                )),
            })
            .transpose()
    };
    let slot_minutes = bounded(
        appointment_slot_minutes,
        "appointmentSlotMinutes",
        dealership::SLOT_MINUTES,
    )?;
    let per_slot = bounded(
        appointments_per_slot,
        "appointmentsPerSlot",
        dealership::PER_SLOT,
    )?;
    Ok(TenantSettingsChanges {
        twilio_phone_number: twilio,
        elevenlabs_inbound_agent_id: agent_id(
            elevenlabs_inbound_agent_id,
            "elevenlabsInboundAgentId",
        )?,
        elevenlabs_outbound_agent_id: agent_id(
            elevenlabs_outbound_agent_id,
            "elevenlabsOutboundAgentId",
        )?,
        dealership_name: text(dealership_name, "dealershipName", 120)?,
        business_hours: hours,
        appointment_slot_minutes: slot_minutes,
        appointments_per_slot: per_slot,
        ..TenantSettingsChanges::default()
    })
}

/// An appointment the phone agent booked.
pub struct Appointment(pub appointments::Model);

#[Object]
impl Appointment {
    /// The appointment id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The lead it is with.
    async fn lead_id(&self) -> ID {
        ID(self.0.lead_id.to_string())
    }
    /// The call it was booked on.
    async fn call_id(&self) -> Option<ID> {
        self.0.call_id.map(|id| ID(id.to_string()))
    }
    /// When it starts.
    async fn scheduled_at(&self) -> DateTime<Utc> {
        self.0.scheduled_at
    }
    /// How long it is (the tenant's slot length when it was booked).
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// SCHEDULED.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// The vehicle the caller is interested in.
    async fn vehicle(&self) -> Option<&str> {
        self.0.vehicle.as_deref()
    }
    /// What the agent noted.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The name the caller gave.
    async fn contact_name(&self) -> Option<&str> {
        self.0.contact_name.as_deref()
    }
    /// The number the caller gave (E.164).
    async fn contact_phone(&self) -> Option<&str> {
        self.0.contact_phone.as_deref()
    }
    /// When it was booked.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The agent was started or stopped.
#[derive(SimpleObject)]
pub struct PhoneAgentStatusChange {
    /// Whether it now answers calls (false: calls go to the human operator).
    pub running: bool,
    /// The member who switched it.
    pub changed_by: Option<ID>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Most appointments one `appointments` answer lists.
const MAX_APPOINTMENTS: u64 = 500;

#[derive(Default)]
pub struct PhoneAgentQuery;

#[Object]
impl PhoneAgentQuery {
    /// The appointments booked to start in `[from, to)` (at most 62 days; at most 500, soonest
    /// first).
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn appointments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the period.")] from: DateTime<Utc>,
        #[graphql(desc = "End of the period (exclusive).")] to: DateTime<Utc>,
    ) -> async_graphql::Result<Vec<Appointment>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        if to <= from || to - from > chrono::Duration::days(62) {
            return Err(ApiError::bad_input(
                "to",
                "must be after `from` and at most 62 days after it",
            )
            .into());
        }
        Ok(state(ctx)
            .store
            .appointments_between(tenant_id, from, to, MAX_APPOINTMENTS)
            .await?
            .into_iter()
            .map(Appointment)
            .collect())
    }
}

#[derive(Default)]
pub struct PhoneAgentSubscription;

#[Subscription]
impl PhoneAgentSubscription {
    /// The tenant's AI phone agent being started or stopped, on every replica.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn phone_agent_status(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<PhoneAgentStatusChange>>>
    {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(tenant_events(ctx, tenant_id, |event| match event {
            Event::PhoneAgentStatus {
                running,
                changed_by,
                at,
            } => Some(PhoneAgentStatusChange {
                running: *running,
                changed_by: changed_by.map(|id| ID(id.to_string())),
                at: *at,
            }),
            _ => None,
        }))
    }
}
