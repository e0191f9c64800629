//! The LiveKit server API client over Twirp (platforms.md §8):
//! `POST {api_url}/twirp/livekit.<Service>/<Method>`, JSON both ways, `Authorization: Bearer`
//! with a fresh access token per call that carries **only the grants that call needs**:
//!
//! | method | grants |
//! |---|---|
//! | `RoomService/CreateRoom` | `video.roomCreate` |
//! | `RoomService/DeleteRoom` | `video.roomCreate` |
//! | `RoomService/ListParticipants` | `video.roomAdmin` + `video.room` = the room |
//! | `SIP/CreateSIPParticipant` | `sip.call` |
//! | `AgentDispatchService/CreateDispatch` | `video.roomAdmin` + `video.room` = the room |
//! | `AgentDispatchService/ListDispatch` | `video.roomAdmin` + `video.room` = the room |
//!
//! A leaked token is thus worth one kind of operation (on one room where LiveKit scopes it) for
//! ten minutes. One HTTP request per call and no retries: the job queue retries, guided by
//! `Error::is_retryable` (timeouts and 5xx yes, 4xx no). Stateless about tenants: a tenant's
//! own LiveKit project is another `Client`.

use std::fmt;
use std::time::Duration;

use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Error;
use crate::models::{
    AgentDispatch, CreateAgentDispatchRequest, CreateRoomRequest, CreateSipParticipantRequest,
    DeleteRoomRequest, ListAgentDispatchRequest, ListAgentDispatchResponse,
    ListParticipantsRequest, ListParticipantsResponse, ParticipantInfo, Room, Rpc,
    SipParticipantInfo,
};
use crate::token::{AccessToken, ApiCredentials, SipGrant, VideoGrant};

/// The SDKs' timeout for one server call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The timeout of a CreateSIPParticipant that waits until answered: it lasts as long as the
/// ringing (LiveKit's default ringing timeout is 30 s), so 10 s would cut every slow answer.
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// The `sub` of the server tokens this client mints.
pub const DEFAULT_IDENTITY: &str = "leadline";

/// The grants one Twirp call needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// The `video` grant, if any.
    pub video: Option<VideoGrant>,
    /// The `sip` grant, if any.
    pub sip: Option<SipGrant>,
}

/// The least grants `rpc` on `room` needs (the table in this module's docs).
pub fn grants_for(rpc: Rpc, room: &str) -> Grants {
    match rpc {
        Rpc::CreateRoom | Rpc::DeleteRoom => Grants {
            video: Some(VideoGrant {
                room_create: true,
                ..VideoGrant::default()
            }),
            sip: None,
        },
        Rpc::ListParticipants | Rpc::CreateDispatch | Rpc::ListDispatch => Grants {
            video: Some(VideoGrant {
                room_admin: true,
                room: room.to_owned(),
                ..VideoGrant::default()
            }),
            sip: None,
        },
        Rpc::CreateSipParticipant => Grants {
            video: None,
            sip: Some(SipGrant {
                call: true,
                ..SipGrant::default()
            }),
        },
    }
}

/// Checks that `number` is E.164: `+`, then 2 to 15 digits, the first not 0.
pub fn validate_e164(number: &str) -> Result<(), Error> {
    let digits = number.strip_prefix('+').unwrap_or("");
    let valid = (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(())
    } else {
        // Only the shape is echoed, never a number that may be someone's private line.
        Err(Error::InvalidPhoneNumber(format!(
            "{} characters, expected + and 2 to 15 digits",
            number.chars().count()
        )))
    }
}

/// `ws://` → `http://`, `wss://` → `https://` (LiveKit URLs are often given as the WebSocket
/// URL), no trailing slash; `Configuration` unless it is an http(s) URL.
pub fn normalize_api_url(api_url: &str) -> Result<String, Error> {
    let url = api_url.trim().trim_end_matches('/');
    let url = if let Some(rest) = url.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = url.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        url.to_owned()
    };
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match host {
        Some(host) if !host.is_empty() => Ok(url),
        _ => Err(Error::Configuration(
            "LIVEKIT_API_URL must be an http(s) or ws(s) URL".to_owned(),
        )),
    }
}

/// A Twirp client for one LiveKit project.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    credentials: ApiCredentials,
    identity: String,
    timeout: Duration,
    answer_timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("answer_timeout", &self.answer_timeout)
            .finish()
    }
}

impl Client {
    /// A client for the project at `api_url` (http(s) or ws(s)) signing with `credentials`,
    /// sharing `http`'s connection pool.
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        credentials: ApiCredentials,
    ) -> Result<Self, Error> {
        Ok(Self {
            http,
            base_url: normalize_api_url(api_url)?,
            credentials,
            identity: DEFAULT_IDENTITY.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
        })
    }

    /// A client from the settings `LIVEKIT_API_URL`, `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`:
    /// `Configuration` naming the first one missing or blank.
    pub fn from_settings(
        http: reqwest::Client,
        api_url: Option<&str>,
        api_key: Option<&str>,
        api_secret: Option<&str>,
    ) -> Result<Self, Error> {
        let required = |value: Option<&str>, name: &str| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| Error::Configuration(format!("{name} is not set")))
        };
        let api_url = required(api_url, "LIVEKIT_API_URL")?;
        let api_key = required(api_key, "LIVEKIT_API_KEY")?;
        let api_secret = required(api_secret, "LIVEKIT_API_SECRET")?;
        Self::new(http, &api_url, ApiCredentials::new(api_key, api_secret)?)
    }

    /// Replaces the timeout of ordinary calls.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Replaces the timeout of CreateSIPParticipant with `wait_until_answered`.
    pub fn with_answer_timeout(mut self, timeout: Duration) -> Self {
        self.answer_timeout = timeout;
        self
    }

    /// Replaces the `sub` of the minted tokens.
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// The normalised http(s) origin.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API key the tokens are issued by.
    pub fn api_key(&self) -> &str {
        &self.credentials.api_key
    }

    /// `RoomService/CreateRoom` (grant `roomCreate`). LiveKit answers an existing room of the
    /// same name rather than an error, so this is safe to repeat.
    pub async fn create_room(&self, request: &CreateRoomRequest) -> Result<Room, Error> {
        require("room name", &request.name)?;
        self.call(Rpc::CreateRoom, &request.name, request, self.timeout)
            .await
    }

    /// `RoomService/DeleteRoom` (grant `roomCreate`): disconnects everyone, the phone leg
    /// included.
    pub async fn delete_room(&self, room: &str) -> Result<(), Error> {
        require("room name", room)?;
        let _: serde_json::Value = self
            .call(
                Rpc::DeleteRoom,
                room,
                &DeleteRoomRequest {
                    room: room.to_owned(),
                },
                self.timeout,
            )
            .await?;
        Ok(())
    }

    /// `RoomService/ListParticipants` (grant `roomAdmin` on that room).
    pub async fn list_participants(&self, room: &str) -> Result<Vec<ParticipantInfo>, Error> {
        require("room name", room)?;
        let response: ListParticipantsResponse = self
            .call(
                Rpc::ListParticipants,
                room,
                &ListParticipantsRequest {
                    room: room.to_owned(),
                },
                self.timeout,
            )
            .await?;
        Ok(response.participants)
    }

    /// `SIP/CreateSIPParticipant` (grant `sip.call`): dials `sip_call_to` through the trunk into
    /// the room. A missing trunk id is `Configuration` and a number that is not E.164 is
    /// `InvalidPhoneNumber`, both before anything is sent. With `wait_until_answered` the call
    /// lasts as long as the ringing, so it gets the answer timeout (at least the ringing timeout
    /// plus the ordinary timeout) instead of the ordinary one.
    pub async fn create_sip_participant(
        &self,
        request: &CreateSipParticipantRequest,
    ) -> Result<SipParticipantInfo, Error> {
        if request.sip_trunk_id.trim().is_empty() {
            return Err(Error::Configuration(
                "LIVEKIT_SIP_TRUNK_ID is not set".to_owned(),
            ));
        }
        validate_e164(&request.sip_call_to)?;
        require("room name", &request.room_name)?;
        let timeout = if request.wait_until_answered {
            let ringing = request
                .ringing_timeout
                .map(|r| r + self.timeout)
                .unwrap_or_default();
            self.answer_timeout.max(ringing)
        } else {
            self.timeout
        };
        self.call(
            Rpc::CreateSipParticipant,
            &request.room_name,
            request,
            timeout,
        )
        .await
    }

    /// `AgentDispatchService/CreateDispatch` (grant `roomAdmin` on that room): asks for a worker
    /// registered as `agent_name` to join `room` with `metadata`. A blank agent name is
    /// `Configuration` (`LIVEKIT_AGENT_NAME`).
    pub async fn create_dispatch(
        &self,
        request: &CreateAgentDispatchRequest,
    ) -> Result<AgentDispatch, Error> {
        if request.agent_name.trim().is_empty() {
            return Err(Error::Configuration(
                "LIVEKIT_AGENT_NAME is not set".to_owned(),
            ));
        }
        require("room name", &request.room)?;
        self.call(Rpc::CreateDispatch, &request.room, request, self.timeout)
            .await
    }

    /// `AgentDispatchService/ListDispatch` (grant `roomAdmin` on that room): the agents already
    /// asked into `room`, so a retried dial does not dispatch a second one.
    pub async fn list_dispatch(&self, room: &str) -> Result<Vec<AgentDispatch>, Error> {
        require("room name", room)?;
        let response: ListAgentDispatchResponse = self
            .call(
                Rpc::ListDispatch,
                room,
                &ListAgentDispatchRequest {
                    room: room.to_owned(),
                    dispatch_id: String::new(),
                },
                self.timeout,
            )
            .await?;
        Ok(response.agent_dispatches)
    }

    /// The bearer token a call of `rpc` on `room` is sent with, issued now.
    pub fn token_for(&self, rpc: Rpc, room: &str) -> Result<String, Error> {
        let grants = grants_for(rpc, room);
        let mut token = AccessToken::new(&self.credentials).with_identity(&self.identity);
        if let Some(video) = grants.video {
            token = token.with_video_grant(video);
        }
        if let Some(sip) = grants.sip {
            token = token.with_sip_grant(sip);
        }
        token.to_jwt(Utc::now())
    }

    /// One Twirp call: POST, then a decoded 2xx body or the classified failure.
    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        rpc: Rpc,
        room: &str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, Error> {
        let token = self.token_for(rpc, room)?;
        let response = self
            .http
            .post(format!("{}{}", self.base_url, rpc.path()))
            .bearer_auth(token)
            .json(request)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| Error::from_transport(&e))?;
        let status = response.status();
        // A body cut by the timeout is a timeout too, not a decode error.
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::from_transport(&e))?;
        if !status.is_success() {
            let error = Error::from_twirp(status.as_u16(), &body);
            tracing::warn!(rpc = rpc.method(), status = status.as_u16(), %error, "LiveKit refused a call");
            return Err(error);
        }
        serde_json::from_slice(&body)
            .map_err(|e| Error::Decode(format!("{} answer: {e}", rpc.method())))
    }
}

/// A locally refused request: LiveKit would answer `invalid_argument`.
fn require(what: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::CallInitiation {
            status: 0,
            code: "invalid_argument".to_owned(),
            msg: format!("{what} is empty"),
            sip_status_code: None,
            sip_status: None,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn e164_is_checked_by_shape() {
        for ok in ["+15551234567", "+44", "+123456789012345"] {
            assert!(validate_e164(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "15551234567",
            "+0555",
            "+1",
            "+1234567890123456",
            "+1 555 123",
            "+1555-1234",
            "invalid",
        ] {
            assert!(
                matches!(validate_e164(bad), Err(Error::InvalidPhoneNumber(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn websocket_urls_become_http_and_junk_is_a_configuration_error() {
        assert_eq!(
            normalize_api_url("wss://x.livekit.cloud/").unwrap(),
            "https://x.livekit.cloud"
        );
        assert_eq!(
            normalize_api_url("ws://127.0.0.1:7880").unwrap(),
            "http://127.0.0.1:7880"
        );
        assert_eq!(
            normalize_api_url("https://lk.example").unwrap(),
            "https://lk.example"
        );
        for bad in ["", "lk.example", "ftp://lk", "https://"] {
            assert!(
                matches!(normalize_api_url(bad), Err(Error::Configuration(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn missing_settings_are_named() {
        let http = reqwest::Client::new();
        let error =
            Client::from_settings(http.clone(), Some("https://lk"), Some("k"), None).unwrap_err();
        assert!(matches!(error, Error::Configuration(m) if m.contains("LIVEKIT_API_SECRET")));
        let error = Client::from_settings(http.clone(), None, Some("k"), Some("s")).unwrap_err();
        assert!(matches!(error, Error::Configuration(m) if m.contains("LIVEKIT_API_URL")));
        let client =
            Client::from_settings(http, Some("wss://lk"), Some("APIk"), Some("s")).unwrap();
        assert_eq!(client.base_url(), "https://lk");
        assert!(!format!("{client:?}").contains("\"s\""));
    }

    #[test]
    fn each_method_gets_only_its_grants() {
        let create = grants_for(Rpc::CreateRoom, "r");
        assert!(create.video.as_ref().unwrap().room_create);
        assert!(create.video.as_ref().unwrap().room.is_empty());
        assert!(create.sip.is_none());
        let admin = grants_for(Rpc::CreateDispatch, "r");
        let video = admin.video.unwrap();
        assert!(video.room_admin && !video.room_create && video.room == "r");
        let sip = grants_for(Rpc::CreateSipParticipant, "r");
        assert!(sip.video.is_none());
        assert_eq!(
            sip.sip,
            Some(SipGrant {
                call: true,
                admin: false
            })
        );
    }
}
