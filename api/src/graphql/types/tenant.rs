//! The tenant as GraphQL shows it: its row, its settings (the dealership's phone agent and
//! nurture schedule included) and the open days of its week.

use super::*;

/// A tenant: one customer organisation.
pub struct Tenant(pub entity::tenants::Model);

#[Object]
impl Tenant {
    /// The tenant id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// URL handle, used in webhook paths.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Billing plan.
    async fn plan(&self) -> &str {
        &self.0.plan
    }
    /// Stripe subscription status (NONE until billing is set up).
    async fn subscription_status(&self) -> &str {
        &self.0.subscription_status
    }
    /// Operational settings.
    async fn settings(&self) -> TenantSettings {
        TenantSettings {
            agent_running: self.0.agent_running,
            ai_lead_percentage: self.0.ai_lead_percentage,
            agent_name: self.0.agent_name.clone(),
            human_operator_number: self.0.human_operator_number.clone(),
            default_phone_region: self.0.default_phone_region.clone(),
            time_zone: self.0.time_zone.clone(),
            twilio_phone_number: self.0.twilio_phone_number.clone(),
            elevenlabs_inbound_agent_id: self.0.elevenlabs_inbound_agent_id.clone(),
            elevenlabs_outbound_agent_id: self.0.elevenlabs_outbound_agent_id.clone(),
            dealership_name: self.0.dealership_name.clone(),
            business_hours: business_days(&self.0),
            appointment_slot_minutes: self.0.appointment_slot_minutes,
            appointments_per_slot: self.0.appointments_per_slot,
            nurture_schedule: {
                let schedule = crate::store::nurture::schedule_of(&self.0);
                NurtureSchedule {
                    followup1_hours: schedule.followup1_hours,
                    followup2_hours: schedule.followup2_hours,
                    long_term_days: schedule.long_term_days,
                    enabled: schedule.enabled,
                }
            },
            call_minute_rate_micros: self.0.call_minute_rate_micros,
        }
    }
    /// When the tenant was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A tenant's operational settings.
#[derive(SimpleObject)]
pub struct TenantSettings {
    /// Whether the AI phone agent takes calls.
    pub agent_running: bool,
    /// Share of new dealership leads routed to the AI agent: 0, 25, 50, 75 or 100.
    pub ai_lead_percentage: i32,
    /// Name the AI agent introduces itself with.
    pub agent_name: Option<String>,
    /// E.164 number calls are transferred to when a human is needed.
    pub human_operator_number: Option<String>,
    /// ISO-3166 alpha-2 region used to read phone numbers written without a country code.
    pub default_phone_region: Option<String>,
    /// IANA time zone (`America/Mexico_City`) used for calling hours when neither the number,
    /// the invoice nor the lead settles the recipient's zone; null means UTC. The phone agent
    /// books appointments in it.
    pub time_zone: Option<String>,
    // The dealership AI phone agent (issue 15).
    /// The Twilio number (E.164) whose incoming calls the agent answers.
    pub twilio_phone_number: Option<String>,
    /// The ElevenLabs agent that answers incoming calls.
    pub elevenlabs_inbound_agent_id: Option<String>,
    /// The ElevenLabs agent for outbound calls.
    pub elevenlabs_outbound_agent_id: Option<String>,
    /// The dealership's name as the agent says it (null: the tenant's name).
    pub dealership_name: Option<String>,
    /// The open days the agent books appointments in (local time in `timeZone`).
    pub business_hours: Vec<BusinessDay>,
    /// Minutes per appointment slot.
    pub appointment_slot_minutes: i32,
    /// Appointments one slot may hold.
    pub appointments_per_slot: i32,
    /// Lead nurture: follow-ups to silent AI leads.
    pub nurture_schedule: NurtureSchedule,
    /// Micro-USD per billed telephony minute (0: not configured).
    pub call_minute_rate_micros: i64,
}

/// When nurture follow-ups go out.
#[derive(SimpleObject)]
pub struct NurtureSchedule {
    /// Hours after enrolment of FOLLOWUP_1.
    pub followup1_hours: u32,
    /// Hours after enrolment of FOLLOWUP_2.
    pub followup2_hours: u32,
    /// Days between LONG_TERM check-ins.
    pub long_term_days: u32,
    /// Whether new AI leads are enrolled.
    pub enabled: bool,
}

mirror_enum!(
    /// A day of the week.
    Weekday => leadline_domain::dealership::Weekday {
        Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday
    }
);

/// One open day of the dealership (local time in the tenant's `timeZone`).
#[derive(SimpleObject)]
pub struct BusinessDay {
    /// The day.
    pub weekday: Weekday,
    /// Opening time, `HH:MM`.
    pub open: String,
    /// Closing time, `HH:MM` (the last appointment ends by then).
    pub close: String,
}

/// The week as GraphQL shows it.
pub fn business_days(tenant: &leadline_entity::tenants::Model) -> Vec<BusinessDay> {
    // A stored week that no longer reads (edited by hand) is logged; the settings still show
    // (as the default week) rather than fail the whole tenant query. Booking refuses it.
    crate::services::phone_agent::business_hours_of(tenant)
        .unwrap_or_else(|error| {
            tracing::error!(error = ?error, "a tenant's stored business hours do not read");
            leadline_domain::dealership::BusinessHours::default()
        })
        .windows()
        .into_iter()
        .map(|day| BusinessDay {
            weekday: day.weekday.into(),
            open: day.open.format("%H:%M").to_string(),
            close: day.close.format("%H:%M").to_string(),
        })
        .collect()
}
