//! Twilio Messaging (SMS) for the api's nurture follow-ups: the form of
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (`To`, `From` or
//! `MessagingServiceSid`, `Body`, optional `StatusCallback`) and the Message resource Twilio
//! answers with (201). Sent by [`crate::Client::create_message`].
//!
//! Must not: retry or store anything (the api's job does), or split long bodies (Twilio does,
//! into segments, and reports `num_segments`).

use serde::{Deserialize, Serialize};

/// Longest body Twilio accepts (characters).
pub const MAX_BODY_CHARS: usize = 1_600;

/// Who a message is sent from: a Twilio number, or a Messaging Service that picks one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// `From`: an E.164 number (or alphanumeric sender id) of the account.
    From(String),
    /// `MessagingServiceSid` (`MG…`).
    MessagingService(String),
}

impl Sender {
    /// `MG…` is a Messaging Service; anything else is a `From` number.
    pub fn parse(value: &str) -> Sender {
        let value = value.trim();
        if value.starts_with("MG") && value.len() == 34 {
            Sender::MessagingService(value.to_owned())
        } else {
            Sender::From(value.to_owned())
        }
    }
}

/// The form of a new outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateMessage {
    /// E.164 recipient.
    pub to: String,
    /// Sender.
    pub sender: Sender,
    /// Text (at most [`MAX_BODY_CHARS`]).
    pub body: String,
    /// Where Twilio posts delivery updates.
    pub status_callback: Option<String>,
}

impl CreateMessage {
    /// The form, in Twilio's parameter names.
    pub fn to_form(&self) -> Vec<(String, String)> {
        let mut form = vec![("To".to_owned(), self.to.clone())];
        match &self.sender {
            Sender::From(from) => form.push(("From".to_owned(), from.clone())),
            Sender::MessagingService(sid) => {
                form.push(("MessagingServiceSid".to_owned(), sid.clone()))
            }
        }
        form.push(("Body".to_owned(), self.body.clone()));
        if let Some(url) = &self.status_callback {
            form.push(("StatusCallback".to_owned(), url.clone()));
        }
        form
    }
}

/// The Message resource (the fields the api reads; unknown ones are ignored and an unknown
/// `status` is kept as text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `SM…` (or `MM…` with media).
    pub sid: String,
    /// The account.
    pub account_sid: String,
    /// Recipient.
    #[serde(default)]
    pub to: Option<String>,
    /// Sender number (null until a Messaging Service picked one).
    #[serde(default)]
    pub from: Option<String>,
    /// The text as stored.
    #[serde(default)]
    pub body: Option<String>,
    /// `queued`, `accepted`, `sending`, `sent`, `delivered`, `undelivered`, `failed`, …
    pub status: String,
    /// Segments the body was split into, as a string.
    #[serde(default)]
    pub num_segments: Option<String>,
    /// The Messaging Service used.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Twilio's error code for a failed message.
    #[serde(default)]
    pub error_code: Option<i64>,
    /// Its message.
    #[serde(default)]
    pub error_message: Option<String>,
    /// RFC 2822 date.
    #[serde(default)]
    pub date_created: Option<String>,
    /// The resource's path.
    #[serde(default)]
    pub uri: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_form_names_the_sender_as_twilio_expects() {
        let message = CreateMessage {
            to: "+14155550100".into(),
            sender: Sender::parse("+14155550199"),
            body: "Hi".into(),
            status_callback: None,
        };
        assert_eq!(
            message.to_form(),
            [
                ("To".to_owned(), "+14155550100".to_owned()),
                ("From".to_owned(), "+14155550199".to_owned()),
                ("Body".to_owned(), "Hi".to_owned()),
            ]
        );
        let service = Sender::parse("MG0123456789abcdef0123456789abcdef");
        assert!(matches!(service, Sender::MessagingService(_)));
    }

    #[test]
    fn a_message_resource_from_the_docs_decodes() {
        let resource: Message = serde_json::from_str(
            r#"{"account_sid":"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX","api_version":"2010-04-01",
            "body":"Hi there","date_created":"Thu, 24 Aug 2023 05:01:45 +0000","direction":"outbound-api",
            "error_code":null,"error_message":null,"from":"+14155552345","messaging_service_sid":null,
            "num_media":"0","num_segments":"1","price":null,"price_unit":null,
            "sid":"SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX","status":"queued",
            "subresource_uris":{"media":"/2010-04-01/Accounts/AC/Messages/SM/Media.json"},
            "to":"+14155552345","uri":"/2010-04-01/Accounts/AC/Messages/SM.json"}"#,
        )
        .unwrap();
        assert_eq!(resource.status, "queued");
        assert_eq!(resource.num_segments.as_deref(), Some("1"));
    }
}
