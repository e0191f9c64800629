//! The fake's webhook sender: form posts signed exactly as Twilio signs them.

use crate::models::{AnsweredBy, Call, CallStatus, Direction};
use crate::webhook::{signature, SIGNATURE_HEADER};

use super::{FakeCall, FakeTwilio};

/// One webhook the fake posted, and the answer it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentWebhook {
    /// Where it was posted.
    pub url: String,
    /// The URL it was signed over (the public URL the receiver knows).
    pub signed_url: String,
    /// The form, in order.
    pub params: Vec<(String, String)>,
    /// `X-Twilio-Signature`.
    pub signature: String,
    /// The receiver's HTTP status.
    pub status: u16,
    /// The receiver's `Content-Type`.
    pub content_type: Option<String>,
    /// The receiver's body (TwiML for a call webhook).
    pub body: String,
}

/// Why the fake could not send a webhook or drive a media stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No such call.
    #[error("the fake knows no call {0}")]
    NoSuchCall(String),
    /// The call was created without that callback URL.
    #[error("call {call_sid} has no {parameter}")]
    NoCallbackUrl {
        /// The call.
        call_sid: String,
        /// `StatusCallback`, `AsyncAmdStatusCallback`.
        parameter: &'static str,
    },
    /// The POST failed.
    #[error("webhook post failed: {0}")]
    Http(String),
    /// The WebSocket failed.
    #[error("media stream failed: {0}")]
    WebSocket(String),
    /// Nothing arrived in time.
    #[error("timed out waiting: {0}")]
    Timeout(String),
}

fn pair(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// The parameters Twilio puts in every voice webhook of `call`.
fn standard_params(call: &Call, status: &CallStatus) -> Vec<(String, String)> {
    let from = call.from.clone().unwrap_or_default();
    let to = call.to.clone().unwrap_or_default();
    let direction = call
        .direction
        .clone()
        .unwrap_or(Direction::Inbound)
        .to_string();
    vec![
        pair("AccountSid", &call.account_sid),
        pair("ApiVersion", crate::client::API_VERSION),
        pair("CallSid", &call.sid),
        pair("CallStatus", status.as_str()),
        pair("Called", &to),
        pair("CalledCountry", "US"),
        pair("Caller", &from),
        pair("CallerCountry", "US"),
        pair("Direction", &direction),
        pair("From", &from),
        pair("FromCountry", "US"),
        pair("To", &to),
        pair("ToCountry", "US"),
    ]
}

impl FakeTwilio {
    /// Posts `params` to `url`, signed over `url`.
    pub async fn post_signed(
        &self,
        url: &str,
        params: Vec<(String, String)>,
    ) -> Result<SentWebhook, WebhookError> {
        self.post_signed_as(url, url, params).await
    }

    /// Posts `params` to `url`, signed over `signed_url`: the public URL Twilio was configured
    /// with when the receiver sits behind a proxy (`LEADLINE_PUBLIC_URL` + path).
    pub async fn post_signed_as(
        &self,
        url: &str,
        signed_url: &str,
        params: Vec<(String, String)>,
    ) -> Result<SentWebhook, WebhookError> {
        let signature = signature(&self.shared.auth_token, signed_url, &params);
        let response = self
            .http
            .post(url)
            .header(SIGNATURE_HEADER, &signature)
            .header("user-agent", "TwilioProxy/1.1")
            .form(&params)
            .send()
            .await
            .map_err(|e| WebhookError::Http(e.to_string()))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .text()
            .await
            .map_err(|e| WebhookError::Http(e.to_string()))?;
        Ok(SentWebhook {
            url: url.to_owned(),
            signed_url: signed_url.to_owned(),
            params,
            signature,
            status,
            content_type,
            body,
        })
    }

    /// A caller `from` dials the account's number `to`: the fake records a new inbound call
    /// (`CallStatus=ringing`) and posts the incoming-call webhook to `url`, signed over
    /// `signed_url` (the same as `url` unless a proxy sits between). The answer's body is the
    /// TwiML; [`super::parse_stream_twiml`] reads a `<Connect><Stream>` out of it.
    pub async fn incoming_call(
        &self,
        url: &str,
        signed_url: &str,
        from: &str,
        to: &str,
    ) -> Result<SentWebhook, WebhookError> {
        let call = {
            let mut state = self.shared.lock();
            let sid = state.new_sid("CA");
            let call = Call {
                sid: sid.clone(),
                account_sid: self.shared.account_sid.clone(),
                from: Some(from.to_owned()),
                to: Some(to.to_owned()),
                status: CallStatus::Ringing,
                direction: Some(Direction::Inbound),
                duration: None,
                price: None,
                price_unit: Some("USD".to_owned()),
                start_time: Some(chrono::Utc::now().to_rfc2822()),
                end_time: None,
                date_created: Some(chrono::Utc::now().to_rfc2822()),
                date_updated: Some(chrono::Utc::now().to_rfc2822()),
                parent_call_sid: None,
                answered_by: None,
                uri: Some(format!(
                    "/{}/Accounts/{}/Calls/{sid}.json",
                    crate::client::API_VERSION,
                    self.shared.account_sid
                )),
            };
            state.calls.insert(
                sid,
                FakeCall {
                    call: call.clone(),
                    form: Vec::new(),
                    updates: Vec::new(),
                    twiml: None,
                    callbacks_sent: 0,
                },
            );
            call
        };
        let params = standard_params(&call, &CallStatus::Ringing);
        let sent = self.post_signed_as(url, signed_url, params).await?;
        if sent.status == 200 {
            let mut state = self.shared.lock();
            if let Some(known) = state.calls.get_mut(&call.sid) {
                known.call.status = CallStatus::InProgress;
                known.twiml = Some(sent.body.clone());
            }
        }
        Ok(sent)
    }

    /// Moves a call to `status` and posts the status callback its create form asked for
    /// (`StatusCallback`), as Twilio does: the standard parameters plus `CallbackSource`,
    /// `SequenceNumber`, `Timestamp`, and on completion `CallDuration` and `SipResponseCode`.
    pub async fn status_callback(
        &self,
        call_sid: &str,
        status: CallStatus,
        duration_secs: Option<u32>,
    ) -> Result<SentWebhook, WebhookError> {
        let (url, mut params) = {
            let mut state = self.shared.lock();
            let known = state
                .calls
                .get_mut(call_sid)
                .ok_or_else(|| WebhookError::NoSuchCall(call_sid.to_owned()))?;
            let url = known.param("StatusCallback").map(str::to_owned).ok_or(
                WebhookError::NoCallbackUrl {
                    call_sid: call_sid.to_owned(),
                    parameter: "StatusCallback",
                },
            )?;
            known.call.status = status.clone();
            if let Some(secs) = duration_secs {
                known.call.duration = Some(secs.to_string());
            }
            let sequence = known.callbacks_sent;
            known.callbacks_sent += 1;
            let mut params = standard_params(&known.call, &status);
            params.push(pair("CallbackSource", "call-progress-events"));
            params.push(pair("SequenceNumber", &sequence.to_string()));
            params.push(pair("Timestamp", &chrono::Utc::now().to_rfc2822()));
            if let Some(answered_by) = &known.call.answered_by {
                params.push(pair("AnsweredBy", answered_by.as_str()));
            }
            (url, params)
        };
        if status == CallStatus::Completed {
            params.push(pair(
                "CallDuration",
                &duration_secs.unwrap_or_default().to_string(),
            ));
            params.push(pair(
                "Duration",
                &duration_secs
                    .unwrap_or_default()
                    .div_ceil(60)
                    .max(1)
                    .to_string(),
            ));
            params.push(pair("SipResponseCode", "200"));
        }
        self.post_signed(&url, params).await
    }

    /// Posts the asynchronous answering-machine verdict to the call's
    /// `AsyncAmdStatusCallback` (`AccountSid`, `CallSid`, `AnsweredBy`,
    /// `MachineDetectionDuration`), as Twilio does once detection decided.
    pub async fn amd_result(
        &self,
        call_sid: &str,
        answered_by: AnsweredBy,
    ) -> Result<SentWebhook, WebhookError> {
        let (url, params) = {
            let mut state = self.shared.lock();
            let known = state
                .calls
                .get_mut(call_sid)
                .ok_or_else(|| WebhookError::NoSuchCall(call_sid.to_owned()))?;
            let url = known
                .param("AsyncAmdStatusCallback")
                .map(str::to_owned)
                .ok_or(WebhookError::NoCallbackUrl {
                    call_sid: call_sid.to_owned(),
                    parameter: "AsyncAmdStatusCallback",
                })?;
            known.call.answered_by = Some(answered_by.clone());
            let params = vec![
                pair("AccountSid", &known.call.account_sid),
                pair("AnsweredBy", answered_by.as_str()),
                pair("CallSid", call_sid),
                pair("MachineDetectionDuration", "2841"),
            ];
            (url, params)
        };
        self.post_signed(&url, params).await
    }
}
