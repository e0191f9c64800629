//! The Messenger / Instagram Send API client (platforms.md §5): `POST {base}/{version}/{page-id}/
//! messages` and the user-profile lookup `GET {base}/{version}/{user-id}?fields=...`.
//!
//! Stateless about tenants (hyperswitch style): the Page id and Page access token come with each
//! call, so one client (one connection pool) serves every tenant. One HTTP request per call; it
//! never retries — the job queue does, guided by `Error::is_retryable`.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::graph;
use crate::models::{
    MessageTag, MessagingType, OutgoingMessage, Recipient, SendRequest, SendResponse, SenderAction,
    UserProfile,
};

/// Which Graph product a Page-scoped user belongs to: decides the profile fields asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Facebook Messenger (`object: page`).
    Messenger,
    /// Instagram Direct (`object: instagram`).
    Instagram,
}

/// One tenant's Page credentials, passed with every call.
#[derive(Clone, PartialEq, Eq)]
pub struct PageCredentials {
    /// The Facebook Page id (also for Instagram accounts linked to a Page: Facebook-Login apps
    /// send with `recipient.id` = IGSID through the Page, platforms.md §5). Use `me` with a
    /// client on `https://graph.instagram.com` for Instagram-Login apps.
    pub page_id: String,
    /// The Page access token (sent as `Authorization: Bearer`, never in the URL).
    pub access_token: String,
}

impl fmt::Debug for PageCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token must never reach a log line.
        f.debug_struct("PageCredentials")
            .field("page_id", &self.page_id)
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// When and how a message may be sent (platforms.md §5: 24 h standard window, `HUMAN_AGENT` up
/// to 7 days). Building `messaging_type` and `tag` from one value keeps them consistent: a tag
/// is only ever sent with `MESSAGE_TAG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendPolicy {
    /// `messaging_type: RESPONSE`: a reply within 24 h of the user's last message.
    Response,
    /// `messaging_type: UPDATE`: proactive, within the 24 h window.
    Update,
    /// `messaging_type: MESSAGE_TAG` with this `tag` (e.g. `HumanAgent` for a human operator's
    /// reply up to 7 days after the user's last message).
    Tag(MessageTag),
}

impl SendPolicy {
    fn fields(self) -> (MessagingType, Option<MessageTag>) {
        match self {
            SendPolicy::Response => (MessagingType::Response, None),
            SendPolicy::Update => (MessagingType::Update, None),
            SendPolicy::Tag(tag) => (MessagingType::MessageTag, Some(tag)),
        }
    }
}

/// A Send API client for one Graph origin.
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
    /// [`graph::DEFAULT_VERSION`] and a [`graph::DEFAULT_TIMEOUT`] request timeout.
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

    /// Replaces the whole-request timeout (connect, send, wait, read).
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

    /// `POST /{version}/{page-id}/messages` with any Send API body.
    pub async fn send(
        &self,
        credentials: &PageCredentials,
        request: &SendRequest,
    ) -> Result<SendResponse, Error> {
        let url = format!(
            "{}/{}/{}/messages",
            self.base_url, self.version, credentials.page_id
        );
        let builder = self
            .http
            .post(url)
            .timeout(self.timeout)
            .bearer_auth(&credentials.access_token)
            .json(request);
        graph::execute(builder, "send message").await
    }

    /// Sends `text` to `recipient_id` (PSID or IGSID) under `policy`. Returns the new `mid`.
    pub async fn send_text(
        &self,
        credentials: &PageCredentials,
        recipient_id: &str,
        text: &str,
        policy: SendPolicy,
    ) -> Result<SendResponse, Error> {
        let (messaging_type, tag) = policy.fields();
        let request = SendRequest {
            recipient: Recipient {
                id: recipient_id.to_owned(),
            },
            messaging_type: Some(messaging_type),
            tag,
            message: Some(OutgoingMessage {
                text: Some(text.to_owned()),
                ..OutgoingMessage::default()
            }),
            sender_action: None,
        };
        self.send(credentials, &request).await
    }

    /// Sends a `sender_action` (`typing_on`, `mark_seen`...), which carries no message.
    pub async fn sender_action(
        &self,
        credentials: &PageCredentials,
        recipient_id: &str,
        action: SenderAction,
    ) -> Result<SendResponse, Error> {
        if action == SenderAction::Unknown {
            return Err(Error::Unsupported("unknown sender_action"));
        }
        let request = SendRequest {
            recipient: Recipient {
                id: recipient_id.to_owned(),
            },
            messaging_type: None,
            tag: None,
            message: None,
            sender_action: Some(action),
        };
        self.send(credentials, &request).await
    }

    /// `GET /{version}/{user-id}?fields=...`: the name (and picture) of a user who messaged the
    /// Page. Messenger is asked for `first_name,last_name,profile_pic`, Instagram for
    /// `name,username,profile_pic` (the User Profile API of each product; not in platforms.md).
    pub async fn user_profile(
        &self,
        credentials: &PageCredentials,
        user_id: &str,
        channel: Channel,
    ) -> Result<UserProfile, Error> {
        let fields = match channel {
            Channel::Messenger => "first_name,last_name,profile_pic",
            Channel::Instagram => "name,username,profile_pic",
        };
        let url = format!("{}/{}/{}", self.base_url, self.version, user_id);
        let builder = self
            .http
            .get(url)
            .query(&[("fields", fields)])
            .timeout(self.timeout)
            .bearer_auth(&credentials.access_token);
        graph::execute(builder, "user profile").await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print_the_token() {
        let credentials = PageCredentials {
            page_id: "P1".into(),
            access_token: "EAAG-secret".into(),
        };
        let printed = format!("{credentials:?}");
        assert!(printed.contains("P1") && !printed.contains("EAAG-secret"));
    }

    #[test]
    fn policies_pair_messaging_type_and_tag() {
        assert_eq!(
            SendPolicy::Response.fields(),
            (MessagingType::Response, None)
        );
        assert_eq!(SendPolicy::Update.fields(), (MessagingType::Update, None));
        assert_eq!(
            SendPolicy::Tag(MessageTag::HumanAgent).fields(),
            (MessagingType::MessageTag, Some(MessageTag::HumanAgent))
        );
    }

    #[test]
    fn the_base_url_is_normalised() {
        let client = Client::new(reqwest::Client::new(), "http://127.0.0.1:9/");
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
        assert_eq!(client.version(), "v21.0");
    }
}
