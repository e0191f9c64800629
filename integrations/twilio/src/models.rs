//! The wire format of Twilio Voice (platforms.md §6): the call resource of the REST API, the
//! create/update forms, and the webhook form (incoming call, status callback, asynchronous AMD
//! result, `<Dial action>`).
//!
//! Twilio adds values and parameters over time ("set may grow"), so every enum keeps unknown
//! values as `Other(String)` and the webhook keeps every parameter it received.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a string enum whose unknown values are kept, serialised as their wire string.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this crate does not know yet, as received.
            Other(String),
        }

        impl $name {
            /// The value as Twilio spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Other(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($wire => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Ok($name::from(value.as_str()))
            }
        }
    };
}

wire_enum! {
    /// `CallStatus` of a webhook, `status` of the call resource.
    CallStatus {
        /// Created, waiting for capacity (outbound calls are paced at 1 per second).
        Queued => "queued",
        /// Being dialled (outbound) or presented (inbound, first webhook).
        Initiated => "initiated",
        /// Ringing.
        Ringing => "ringing",
        /// Answered and connected.
        InProgress => "in-progress",
        /// Ended normally.
        Completed => "completed",
        /// The callee was busy.
        Busy => "busy",
        /// The call could not be placed.
        Failed => "failed",
        /// Nobody answered.
        NoAnswer => "no-answer",
        /// Cancelled while queued or ringing.
        Canceled => "canceled",
    }
}

impl CallStatus {
    /// Whether the call has ended (no more audio, no more status except the recording).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            CallStatus::Completed
                | CallStatus::Busy
                | CallStatus::Failed
                | CallStatus::NoAnswer
                | CallStatus::Canceled
        )
    }
}

wire_enum! {
    /// `Direction` of a call.
    Direction {
        /// A caller dialled one of the account's numbers.
        Inbound => "inbound",
        /// Created through the REST API.
        OutboundApi => "outbound-api",
        /// The child leg of a `<Dial>`.
        OutboundDial => "outbound-dial",
    }
}

wire_enum! {
    /// `AnsweredBy`: answering-machine detection's verdict.
    AnsweredBy {
        /// A person answered.
        Human => "human",
        /// A machine; with `Enable`, as soon as detected.
        MachineStart => "machine_start",
        /// A machine whose greeting ended on a beep (`DetectMessageEnd`).
        MachineEndBeep => "machine_end_beep",
        /// A machine whose greeting ended in silence.
        MachineEndSilence => "machine_end_silence",
        /// A machine whose greeting ended otherwise.
        MachineEndOther => "machine_end_other",
        /// A fax machine.
        Fax => "fax",
        /// Detection could not decide.
        Unknown => "unknown",
    }
}

impl AnsweredBy {
    /// Whether a machine (voicemail, fax) answered: the call is recorded as VOICEMAIL.
    pub fn is_machine(&self) -> bool {
        matches!(
            self,
            AnsweredBy::MachineStart
                | AnsweredBy::MachineEndBeep
                | AnsweredBy::MachineEndSilence
                | AnsweredBy::MachineEndOther
                | AnsweredBy::Fax
        )
    }
}

wire_enum! {
    /// `MachineDetection` of a created call.
    MachineDetection {
        /// Answer with `AnsweredBy` as soon as human or machine is known.
        Enable => "Enable",
        /// Wait for the end of a machine's greeting (to leave a message after the beep).
        DetectMessageEnd => "DetectMessageEnd",
    }
}

wire_enum! {
    /// `StatusCallbackEvent`: which progress events are posted to `StatusCallback`.
    StatusCallbackEvent {
        /// The call was dialled.
        Initiated => "initiated",
        /// It is ringing.
        Ringing => "ringing",
        /// It was answered.
        Answered => "answered",
        /// It ended (always sent when a `StatusCallback` is set).
        Completed => "completed",
    }
}

impl StatusCallbackEvent {
    /// The four events, in call order.
    pub const ALL: [StatusCallbackEvent; 4] = [
        StatusCallbackEvent::Initiated,
        StatusCallbackEvent::Ringing,
        StatusCallbackEvent::Answered,
        StatusCallbackEvent::Completed,
    ];
}

/// The call resource (`/2010-04-01/Accounts/{Sid}/Calls/{CallSid}.json`). Unknown fields are
/// ignored; Twilio sends `null` for what is not known yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// `CA` + 32 hex.
    pub sid: String,
    /// The account (`AC…`).
    pub account_sid: String,
    /// Caller.
    #[serde(default)]
    pub from: Option<String>,
    /// Callee.
    #[serde(default)]
    pub to: Option<String>,
    /// Current status.
    pub status: CallStatus,
    /// Direction.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Seconds, as a string once the call ended.
    #[serde(default)]
    pub duration: Option<String>,
    /// Price, as a string, once known.
    #[serde(default)]
    pub price: Option<String>,
    /// ISO 4217 currency of `price`.
    #[serde(default)]
    pub price_unit: Option<String>,
    /// RFC 2822 date.
    #[serde(default)]
    pub start_time: Option<String>,
    /// RFC 2822 date.
    #[serde(default)]
    pub end_time: Option<String>,
    /// RFC 2822 date.
    #[serde(default)]
    pub date_created: Option<String>,
    /// RFC 2822 date.
    #[serde(default)]
    pub date_updated: Option<String>,
    /// The parent leg of a `<Dial>`ed call.
    #[serde(default)]
    pub parent_call_sid: Option<String>,
    /// AMD verdict, when detection ran synchronously.
    #[serde(default)]
    pub answered_by: Option<AnsweredBy>,
    /// The resource's path.
    #[serde(default)]
    pub uri: Option<String>,
}

impl Call {
    /// `duration` in seconds, when Twilio has set it.
    pub fn duration_secs(&self) -> Option<u32> {
        self.duration.as_deref().and_then(|d| d.parse().ok())
    }
}

/// What Twilio does once the call is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallInstructions {
    /// Fetch TwiML from this URL (`Url`).
    Url(String),
    /// Run this TwiML (`Twiml`, at most 4,000 characters).
    Twiml(String),
}

/// The form of `POST /Accounts/{Sid}/Calls.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateCall {
    /// Callee, E.164 (or `client:…`, `sip:…`).
    pub to: String,
    /// Caller: one of the account's numbers, E.164.
    pub from: String,
    /// `Url` or `Twiml`.
    pub instructions: CallInstructions,
    /// `StatusCallback`: where progress events are posted (signed).
    pub status_callback: Option<String>,
    /// `StatusCallbackEvent` (repeated). Ignored without `status_callback`.
    pub status_callback_events: Vec<StatusCallbackEvent>,
    /// `Timeout`: seconds to let it ring (Twilio's default is 60).
    pub timeout_secs: Option<u32>,
    /// `Record`: record the call.
    pub record: bool,
    /// `MachineDetection`.
    pub machine_detection: Option<MachineDetection>,
    /// `AsyncAmdStatusCallback`: sends `AsyncAmd=true` so the call is connected at once and the
    /// verdict is posted here (signed) instead of delaying the TwiML.
    pub async_amd_status_callback: Option<String>,
}

impl CreateCall {
    /// A call from `from` to `to` that runs `instructions`, with nothing else set.
    pub fn new(
        to: impl Into<String>,
        from: impl Into<String>,
        instructions: CallInstructions,
    ) -> Self {
        CreateCall {
            to: to.into(),
            from: from.into(),
            instructions,
            status_callback: None,
            status_callback_events: Vec::new(),
            timeout_secs: None,
            record: false,
            machine_detection: None,
            async_amd_status_callback: None,
        }
    }

    /// Posts the four progress events (initiated, ringing, answered, completed) to `url`.
    pub fn with_status_callback(mut self, url: impl Into<String>) -> Self {
        self.status_callback = Some(url.into());
        self.status_callback_events = StatusCallbackEvent::ALL.to_vec();
        self
    }

    /// Answering-machine detection, the verdict posted asynchronously to `url`.
    pub fn with_async_amd(mut self, mode: MachineDetection, url: impl Into<String>) -> Self {
        self.machine_detection = Some(mode);
        self.async_amd_status_callback = Some(url.into());
        self
    }

    /// The form, in Twilio's parameter names (repeated `StatusCallbackEvent`).
    pub fn to_form(&self) -> Vec<(String, String)> {
        let mut form = vec![
            ("To".to_owned(), self.to.clone()),
            ("From".to_owned(), self.from.clone()),
        ];
        match &self.instructions {
            CallInstructions::Url(url) => form.push(("Url".to_owned(), url.clone())),
            CallInstructions::Twiml(twiml) => form.push(("Twiml".to_owned(), twiml.clone())),
        }
        if let Some(url) = &self.status_callback {
            form.push(("StatusCallback".to_owned(), url.clone()));
            form.push(("StatusCallbackMethod".to_owned(), "POST".to_owned()));
            for event in &self.status_callback_events {
                form.push(("StatusCallbackEvent".to_owned(), event.as_str().to_owned()));
            }
        }
        if let Some(timeout) = self.timeout_secs {
            form.push(("Timeout".to_owned(), timeout.to_string()));
        }
        if self.record {
            form.push(("Record".to_owned(), "true".to_owned()));
        }
        if let Some(mode) = &self.machine_detection {
            form.push(("MachineDetection".to_owned(), mode.as_str().to_owned()));
        }
        if let Some(url) = &self.async_amd_status_callback {
            form.push(("AsyncAmd".to_owned(), "true".to_owned()));
            form.push(("AsyncAmdStatusCallback".to_owned(), url.clone()));
            form.push(("AsyncAmdStatusCallbackMethod".to_owned(), "POST".to_owned()));
        }
        form
    }
}

/// The form of `POST /Accounts/{Sid}/Calls/{CallSid}.json` on a live call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateCall {
    /// Replace what the call runs with this TwiML (a transfer: `<Dial>`). Ends a
    /// `<Connect><Stream>`.
    Twiml(String),
    /// Replace what the call runs with the TwiML at this URL.
    Url(String),
    /// Hang up an answered call (`Status=completed`).
    Complete,
    /// Cancel a queued or ringing call (`Status=canceled`).
    Cancel,
}

impl UpdateCall {
    /// The form, in Twilio's parameter names.
    pub fn to_form(&self) -> Vec<(String, String)> {
        match self {
            UpdateCall::Twiml(twiml) => vec![("Twiml".to_owned(), twiml.clone())],
            UpdateCall::Url(url) => vec![("Url".to_owned(), url.clone())],
            UpdateCall::Complete => vec![("Status".to_owned(), "completed".to_owned())],
            UpdateCall::Cancel => vec![("Status".to_owned(), "canceled".to_owned())],
        }
    }
}

/// What a verified voice webhook is, told from its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// The call's TwiML request (incoming call, or an outbound call's `Url` being fetched).
    Call,
    /// A `StatusCallback` progress event (`CallbackSource=call-progress-events`).
    Status,
    /// The asynchronous answering-machine verdict (`AnsweredBy` + `MachineDetectionDuration`).
    Amd,
    /// A `<Dial action>` request (`DialCallStatus`).
    DialAction,
}

/// A verified voice webhook form, typed. Every parameter is also kept in `params` (as received,
/// repeated names included), so nothing Twilio adds is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoiceWebhook {
    /// `CallSid`.
    pub call_sid: Option<String>,
    /// `AccountSid`.
    pub account_sid: Option<String>,
    /// `From`.
    pub from: Option<String>,
    /// `To`.
    pub to: Option<String>,
    /// `CallStatus`.
    pub call_status: Option<CallStatus>,
    /// `Direction`.
    pub direction: Option<Direction>,
    /// `ApiVersion`.
    pub api_version: Option<String>,
    /// `ForwardedFrom`.
    pub forwarded_from: Option<String>,
    /// `CallerName` (CNAM lookup).
    pub caller_name: Option<String>,
    /// `ParentCallSid`.
    pub parent_call_sid: Option<String>,
    /// `AnsweredBy`.
    pub answered_by: Option<AnsweredBy>,
    /// `MachineDetectionDuration` (ms).
    pub machine_detection_duration_ms: Option<u32>,
    /// `CallDuration` (s), on the completed status callback.
    pub call_duration_secs: Option<u32>,
    /// `RecordingUrl`.
    pub recording_url: Option<String>,
    /// `RecordingSid`.
    pub recording_sid: Option<String>,
    /// `RecordingDuration` (s).
    pub recording_duration_secs: Option<u32>,
    /// `Timestamp` (RFC 2822) of a status callback.
    pub timestamp: Option<String>,
    /// `SequenceNumber` of a status callback (orders them: they may arrive out of order).
    pub sequence_number: Option<u32>,
    /// `CallbackSource`.
    pub callback_source: Option<String>,
    /// `SipResponseCode`.
    pub sip_response_code: Option<u16>,
    /// `Digits` of a `<Gather>`.
    pub digits: Option<String>,
    /// `DialCallStatus` of a `<Dial action>`.
    pub dial_call_status: Option<CallStatus>,
    /// `DialCallSid`.
    pub dial_call_sid: Option<String>,
    /// `DialCallDuration` (s).
    pub dial_call_duration_secs: Option<u32>,
    /// Every parameter as received, in order.
    pub params: Vec<(String, String)>,
}

impl VoiceWebhook {
    /// Types the decoded form pairs; unknown parameters stay only in `params`, unparsable
    /// numbers are `None` (Twilio never sends them, and a webhook is not refused for it).
    pub(crate) fn from_pairs(params: Vec<(String, String)>) -> Self {
        let map: BTreeMap<&str, &str> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let text = |name: &str| map.get(name).map(|v| (*v).to_owned());
        let number = |name: &str| map.get(name).and_then(|v| v.trim().parse::<u32>().ok());
        VoiceWebhook {
            call_sid: text("CallSid"),
            account_sid: text("AccountSid"),
            from: text("From"),
            to: text("To"),
            call_status: map.get("CallStatus").map(|v| CallStatus::from(*v)),
            direction: map.get("Direction").map(|v| Direction::from(*v)),
            api_version: text("ApiVersion"),
            forwarded_from: text("ForwardedFrom"),
            caller_name: text("CallerName"),
            parent_call_sid: text("ParentCallSid"),
            answered_by: map.get("AnsweredBy").map(|v| AnsweredBy::from(*v)),
            machine_detection_duration_ms: number("MachineDetectionDuration"),
            call_duration_secs: number("CallDuration"),
            recording_url: text("RecordingUrl"),
            recording_sid: text("RecordingSid"),
            recording_duration_secs: number("RecordingDuration"),
            timestamp: text("Timestamp"),
            sequence_number: number("SequenceNumber"),
            callback_source: text("CallbackSource"),
            sip_response_code: map
                .get("SipResponseCode")
                .and_then(|v| v.trim().parse::<u16>().ok()),
            digits: text("Digits"),
            dial_call_status: map.get("DialCallStatus").map(|v| CallStatus::from(*v)),
            dial_call_sid: text("DialCallSid"),
            dial_call_duration_secs: number("DialCallDuration"),
            params,
        }
    }

    /// What kind of webhook this is.
    pub fn kind(&self) -> WebhookKind {
        if self.dial_call_status.is_some() {
            WebhookKind::DialAction
        } else if self.callback_source.as_deref() == Some("call-progress-events")
            || self.sequence_number.is_some()
        {
            WebhookKind::Status
        } else if self.answered_by.is_some()
            && (self.machine_detection_duration_ms.is_some() || self.call_status.is_none())
        {
            WebhookKind::Amd
        } else {
            WebhookKind::Call
        }
    }

    /// The first value of a parameter, by its Twilio name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
