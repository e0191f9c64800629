//! The fake's REST half: the Calls resource, Basic auth, failure injection, recording.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use serde_json::json;

use super::{Failure, FakeCall, RecordedRequest, Shared};
use crate::client::{is_e164, API_VERSION};
use crate::messaging::Message;
use crate::models::{Call, CallStatus, Direction};
use crate::webhook::decode_form;

pub(crate) fn router(shared: Shared) -> Router {
    // One fallback handler: Twilio's `{CallSid}.json` segments are parsed here, and unknown
    // paths are recorded and answered 404 like any other.
    Router::new().fallback(handle).with_state(shared)
}

fn error(status: u16, code: u32, message: &str) -> (u16, serde_json::Value) {
    (
        status,
        json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        }),
    )
}

fn now_rfc2822() -> String {
    chrono::Utc::now().to_rfc2822()
}

enum Route {
    Calls,
    Call(String),
    Messages,
}

fn route(path: &str) -> Option<(String, Route)> {
    let rest = path.strip_prefix(&format!("/{API_VERSION}/Accounts/"))?;
    let (account, rest) = rest.split_once('/')?;
    if rest == "Calls.json" {
        return Some((account.to_owned(), Route::Calls));
    }
    if rest == "Messages.json" {
        return Some((account.to_owned(), Route::Messages));
    }
    let sid = rest.strip_prefix("Calls/")?.strip_suffix(".json")?;
    (!sid.is_empty() && !sid.contains('/'))
        .then(|| (account.to_owned(), Route::Call(sid.to_owned())))
}

fn authenticated(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    decoded == format!("{}:{}", shared.account_sid, shared.auth_token).as_bytes()
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = decode_form(&body);
    let path = uri.path().to_owned();
    let authenticated = authenticated(&shared, &headers);
    let failure = shared.lock().failures.pop_front();
    let mut extra_headers: Vec<(&'static str, String)> = Vec::new();
    let (status, value) = match failure {
        Some(Failure::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            answer(&shared, &method, &path, &form, authenticated)
        }
        Some(Failure::Twilio {
            status,
            code,
            message,
        }) => error(status, code, &message),
        Some(Failure::RateLimited { retry_after_secs }) => {
            if let Some(secs) = retry_after_secs {
                extra_headers.push(("retry-after", secs.to_string()));
            }
            error(429, 20429, "Too Many Requests")
        }
        Some(Failure::Raw { status, body }) => {
            record(
                &shared,
                &method,
                &path,
                &headers,
                form,
                authenticated,
                status,
            );
            return raw(status, body);
        }
        None => answer(&shared, &method, &path, &form, authenticated),
    };
    record(
        &shared,
        &method,
        &path,
        &headers,
        form,
        authenticated,
        status,
    );
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (code, axum::Json(value)).into_response();
    for (name, value) in extra_headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn raw(status: u16, body: String) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (code, [("content-type", "text/html")], body).into_response()
}

fn record(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    form: Vec<(String, String)>,
    authenticated: bool,
    status: u16,
) {
    let header = |name: axum::http::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    shared.lock().requests.push(RecordedRequest {
        method: method.to_string(),
        path: path.to_owned(),
        authorization: header(axum::http::header::AUTHORIZATION),
        authenticated,
        content_type: header(axum::http::header::CONTENT_TYPE),
        form,
        status,
    });
}

fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn to_json(call: &Call) -> serde_json::Value {
    serde_json::to_value(call).unwrap_or_default()
}

fn answer(
    shared: &Shared,
    method: &Method,
    path: &str,
    form: &[(String, String)],
    authenticated: bool,
) -> (u16, serde_json::Value) {
    let Some((account, route)) = route(path) else {
        return error(404, 20404, "The requested resource was not found");
    };
    // Twilio checks credentials before anything else, also against the path's account.
    if !authenticated || account != shared.account_sid {
        return error(401, 20003, "Authenticate");
    }
    match (method.as_str(), route) {
        ("POST", Route::Calls) => create(shared, form),
        ("POST", Route::Messages) => create_message(shared, form),
        ("POST", Route::Call(sid)) => update(shared, &sid, form),
        ("GET", Route::Call(sid)) => match shared.lock().calls.get(&sid) {
            Some(call) => (200, to_json(&call.call)),
            None => not_found(&sid),
        },
        _ => error(405, 20004, "Method not allowed"),
    }
}

fn not_found(sid: &str) -> (u16, serde_json::Value) {
    error(
        404,
        20404,
        &format!("The requested resource /Calls/{sid}.json was not found"),
    )
}

fn create(shared: &Shared, form: &[(String, String)]) -> (u16, serde_json::Value) {
    let Some(to) = param(form, "To") else {
        return error(400, 21201, "No 'To' number is specified");
    };
    if !(is_e164(to) || to.starts_with("client:") || to.starts_with("sip:")) {
        return error(
            400,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    let Some(from) = param(form, "From") else {
        return error(400, 21603, "A 'From' phone number is required.");
    };
    let twiml = param(form, "Twiml");
    if twiml.is_none() && param(form, "Url").is_none() && param(form, "ApplicationSid").is_none() {
        return error(400, 21205, "Url parameter is required.");
    }
    let mut state = shared.lock();
    let sid = state.new_sid("CA");
    let call = Call {
        sid: sid.clone(),
        account_sid: shared.account_sid.clone(),
        from: Some(from.to_owned()),
        to: Some(to.to_owned()),
        status: CallStatus::Queued,
        direction: Some(Direction::OutboundApi),
        duration: None,
        price: None,
        price_unit: Some("USD".to_owned()),
        start_time: None,
        end_time: None,
        date_created: Some(now_rfc2822()),
        date_updated: Some(now_rfc2822()),
        parent_call_sid: None,
        answered_by: None,
        uri: Some(format!(
            "/{API_VERSION}/Accounts/{}/Calls/{sid}.json",
            shared.account_sid
        )),
    };
    let value = to_json(&call);
    state.calls.insert(
        sid,
        FakeCall {
            call,
            form: form.to_vec(),
            updates: Vec::new(),
            twiml: twiml.map(str::to_owned),
            callbacks_sent: 0,
        },
    );
    (201, value)
}

fn create_message(shared: &Shared, form: &[(String, String)]) -> (u16, serde_json::Value) {
    let Some(to) = param(form, "To") else {
        return error(400, 21604, "A 'To' phone number is required.");
    };
    if !is_e164(to) {
        return error(
            400,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    let from = param(form, "From");
    let service = param(form, "MessagingServiceSid");
    if from.is_none() && service.is_none() {
        return error(400, 21603, "A 'From' phone number is required.");
    }
    let Some(body) = param(form, "Body") else {
        return error(400, 21602, "Message body is required.");
    };
    let segments = body.chars().count().div_ceil(153).max(1);
    let mut state = shared.lock();
    let sid = state.new_sid("SM");
    let message = Message {
        sid: sid.clone(),
        account_sid: shared.account_sid.clone(),
        to: Some(to.to_owned()),
        from: from.map(str::to_owned),
        body: Some(body.to_owned()),
        status: if service.is_some() {
            "accepted"
        } else {
            "queued"
        }
        .to_owned(),
        num_segments: Some(segments.to_string()),
        messaging_service_sid: service.map(str::to_owned),
        error_code: None,
        error_message: None,
        date_created: Some(now_rfc2822()),
        uri: Some(format!(
            "/{API_VERSION}/Accounts/{}/Messages/{sid}.json",
            shared.account_sid
        )),
    };
    let value = serde_json::to_value(&message).unwrap_or_default();
    state.messages.push(message);
    (201, value)
}

fn update(shared: &Shared, sid: &str, form: &[(String, String)]) -> (u16, serde_json::Value) {
    let mut state = shared.lock();
    let Some(call) = state.calls.get_mut(sid) else {
        return not_found(sid);
    };
    match param(form, "Status") {
        Some("completed") => call.call.status = CallStatus::Completed,
        Some("canceled") => {
            if matches!(call.call.status, CallStatus::Queued | CallStatus::Ringing) {
                call.call.status = CallStatus::Canceled;
            }
        }
        Some(other) => return error(400, 21218, &format!("Invalid value '{other}' for Status")),
        None => {}
    }
    if let Some(twiml) = param(form, "Twiml") {
        if call.call.status.is_final() {
            return error(400, 21220, "Call is not in-progress. Cannot redirect.");
        }
        call.twiml = Some(twiml.to_owned());
    }
    if call.call.status.is_final() && call.call.end_time.is_none() {
        call.call.end_time = Some(now_rfc2822());
    }
    call.call.date_updated = Some(now_rfc2822());
    call.updates.push(form.to_vec());
    (200, to_json(&call.call))
}
