//! The WhatsApp Cloud API client (platforms.md §4): `POST {base}/{version}/{phone-number-id}/
//! messages` for text, template and mark-as-read.
//!
//! Stateless about tenants (hyperswitch style): the phone number id and access token come with
//! each call, so one client serves every tenant. One HTTP request per call, executed and
//! classified by `leadline_meta::graph` (the Graph error envelope is the same on every product);
//! it never retries — the job queue does, guided by `Error::is_retryable`.

use std::fmt;
use std::time::Duration;

use leadline_meta::graph;

use crate::error::Error;
use crate::models::{
    ContextRef, MarkReadRequest, OutgoingContent, SendMessageRequest, SendResponse,
    SuccessResponse, Template, TextBody, MESSAGING_PRODUCT,
};

/// One tenant's WhatsApp number credentials, passed with every call.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumberCredentials {
    /// The business phone number id (not the phone number itself).
    pub phone_number_id: String,
    /// A system-user or business access token (sent as `Authorization: Bearer`).
    pub access_token: String,
}

impl fmt::Debug for PhoneNumberCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token must never reach a log line.
        f.debug_struct("PhoneNumberCredentials")
            .field("phone_number_id", &self.phone_number_id)
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// A message the Cloud API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The new `wamid` (statuses in webhooks refer to it).
    pub message_id: String,
    /// The WhatsApp id the recipient resolved to, when returned.
    pub wa_id: Option<String>,
    /// Templates: `accepted`, `held_for_quality_assessment`...
    pub message_status: Option<String>,
}

/// A Cloud API client for one Graph origin.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    version: String,
    timeout: Duration,
}

impl Client {
    /// A client on `base_url` (scheme + host + port only, e.g. `https://graph.facebook.com` or a
    /// fake's URL; the client adds `/{version}/...`) sharing `http`'s pool, with Graph version
    /// `leadline_meta::graph::DEFAULT_VERSION` and its default timeout.
    pub fn new(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            version: graph::DEFAULT_VERSION.to_owned(),
            timeout: graph::DEFAULT_TIMEOUT,
        }
    }

    /// Replaces the Graph version (`v21.0`...).
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Replaces the whole-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The origin this client talks to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The Graph version in every path.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Sends any message body.
    pub async fn send(
        &self,
        credentials: &PhoneNumberCredentials,
        request: &SendMessageRequest,
    ) -> Result<SentMessage, Error> {
        let response: SendResponse = self.post(credentials, request, "send message").await?;
        let Some(message) = response.messages.into_iter().next() else {
            return Err(Error::Decode(
                "send answer without messages[0].id".to_owned(),
            ));
        };
        Ok(SentMessage {
            message_id: message.id,
            wa_id: response.contacts.into_iter().next().map(|c| c.wa_id),
            message_status: message.message_status,
        })
    }

    /// Sends free-form text to `to` (only inside the 24 h window; outside it the answer is
    /// `Rejected` with `is_outside_window()`). `reply_to` quotes an inbound `wamid`.
    pub async fn send_text(
        &self,
        credentials: &PhoneNumberCredentials,
        to: &str,
        body: &str,
        reply_to: Option<&str>,
    ) -> Result<SentMessage, Error> {
        let mut request = SendMessageRequest::new(
            to,
            OutgoingContent::Text {
                text: TextBody {
                    preview_url: false,
                    body: body.to_owned(),
                },
            },
        );
        request.context = reply_to.map(|id| ContextRef {
            message_id: id.to_owned(),
        });
        self.send(credentials, &request).await
    }

    /// Sends an approved template to `to` (allowed outside the 24 h window).
    pub async fn send_template(
        &self,
        credentials: &PhoneNumberCredentials,
        to: &str,
        template: &Template,
    ) -> Result<SentMessage, Error> {
        let request = SendMessageRequest::new(
            to,
            OutgoingContent::Template {
                template: template.clone(),
            },
        );
        self.send(credentials, &request).await
    }

    /// Marks the inbound message `message_id` (and earlier ones) as read: blue ticks.
    pub async fn mark_read(
        &self,
        credentials: &PhoneNumberCredentials,
        message_id: &str,
    ) -> Result<(), Error> {
        let request = MarkReadRequest {
            messaging_product: MESSAGING_PRODUCT.to_owned(),
            status: "read".to_owned(),
            message_id: message_id.to_owned(),
        };
        let answer: SuccessResponse = self.post(credentials, &request, "mark read").await?;
        if answer.success {
            Ok(())
        } else {
            Err(Error::Rejected {
                status: 200,
                code: 0,
                message: "mark read answered success: false".to_owned(),
            })
        }
    }

    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        credentials: &PhoneNumberCredentials,
        body: &B,
        what: &'static str,
    ) -> Result<T, Error> {
        let url = format!(
            "{}/{}/{}/messages",
            self.base_url, self.version, credentials.phone_number_id
        );
        let builder = self
            .http
            .post(url)
            .timeout(self.timeout)
            .bearer_auth(&credentials.access_token)
            .json(body);
        Ok(graph::execute(builder, what).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print_the_token() {
        let credentials = PhoneNumberCredentials {
            phone_number_id: "106540352242922".into(),
            access_token: "EAAG-secret".into(),
        };
        let printed = format!("{credentials:?}");
        assert!(printed.contains("106540352242922") && !printed.contains("EAAG-secret"));
    }
}
