//! The fake's REST half: one entry point that records the request, applies injected failures,
//! checks what every Stripe request must carry, handles idempotency, then dispatches to the
//! endpoint. Endpoint errors are Stripe's error object with Stripe's wording where its docs
//! give it.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::Value;

use super::{
    form, now, objects, Failure, RecordedMeterEvent, RecordedRequest, Saved, Shared, State, Usage,
};
use crate::client::STRIPE_VERSION;
use crate::models::LineItem;

pub(crate) fn router(shared: Shared) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// An answer before it becomes an HTTP response.
struct Answer {
    status: u16,
    body: Value,
    replayed: bool,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Answer {
            status: 200,
            body,
            replayed: false,
        }
    }

    fn error(
        status: u16,
        kind: &str,
        code: Option<&str>,
        message: &str,
        param: Option<&str>,
    ) -> Self {
        Answer {
            status,
            body: objects::error(kind, code, message, param),
            replayed: false,
        }
    }

    fn invalid(code: Option<&str>, message: &str, param: Option<&str>) -> Self {
        Answer::error(400, "invalid_request_error", code, message, param)
    }

    fn missing(param: &str) -> Self {
        Answer::invalid(
            Some("parameter_missing"),
            &format!("Missing required param: {param}."),
            Some(param),
        )
    }

    fn no_such(what: &str, id: &str, param: &str, status: u16) -> Self {
        Answer::error(
            status,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such {what}: '{id}'"),
            Some(param),
        )
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn handle(
    extract::State(shared): extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let pairs = form::pairs(&body);
    let params = form::nest(&pairs);
    let mut record = RecordedRequest {
        method: method.as_str().to_owned(),
        path: path.clone(),
        authorization: header(&headers, "authorization"),
        stripe_version: header(&headers, "stripe-version"),
        idempotency_key: header(&headers, "idempotency-key"),
        content_type: header(&headers, "content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
        form: pairs.clone(),
        params: params.clone().unwrap_or(Value::Null),
        status: 0,
        replayed: false,
    };

    // The pages behind the URLs the fake hands out: no API checks, nothing to record.
    if method == Method::GET && (path.starts_with("/c/pay/") || path.starts_with("/p/session/")) {
        return (StatusCode::OK, "fake Stripe page").into_response();
    }

    let answer = answer(&shared, &method, &path, &record, params, pairs).await;
    record.status = answer.status;
    record.replayed = answer.replayed;
    shared.lock().requests.push(record);

    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // A JSON string body only comes from `Failure::Raw`: sent as-is, not as JSON.
    let mut response = match answer.body {
        Value::String(raw) => (status, raw).into_response(),
        body => (status, Json(body)).into_response(),
    };
    let request_id = {
        let mut state = shared.lock();
        shared.new_id(&mut state, "req_")
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("request-id", value);
    }
    if answer.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

async fn answer(
    shared: &Shared,
    method: &Method,
    path: &str,
    record: &RecordedRequest,
    params: Result<Value, String>,
    pairs: Vec<(String, String)>,
) -> Answer {
    // `DelayAnswer`: the request takes effect now and its answer comes late (or never, to a
    // client that gave up or died): Stripe committed, the caller does not know it.
    let late = {
        let mut state = shared.lock();
        match state.failures.front() {
            Some(Failure::DelayAnswer(delay)) => {
                let delay = *delay;
                state.failures.pop_front();
                Some(delay)
            }
            _ => None,
        }
    };
    let answered = answer_now(shared, method, path, record, params, pairs).await;
    if let Some(delay) = late {
        tokio::time::sleep(delay).await;
    }
    answered
}

async fn answer_now(
    shared: &Shared,
    method: &Method,
    path: &str,
    record: &RecordedRequest,
    params: Result<Value, String>,
    pairs: Vec<(String, String)>,
) -> Answer {
    let failure = shared.lock().failures.pop_front();
    match failure {
        Some(Failure::Error {
            status,
            kind,
            code,
            message,
            param,
        }) => {
            return Answer::error(status, &kind, code.as_deref(), &message, param.as_deref());
        }
        Some(Failure::Raw { status, body }) => {
            return Answer {
                status,
                body: Value::String(body),
                replayed: false,
            };
        }
        Some(Failure::Delay(delay)) => tokio::time::sleep(delay).await,
        // Taken off the queue by `answer` before this runs.
        Some(Failure::DelayAnswer(_)) | None => {}
    }

    let expected = format!("Bearer {}", shared.secret_key);
    match record.authorization.as_deref() {
        None => {
            return Answer::error(
                401,
                "invalid_request_error",
                None,
                "You did not provide an API key. You need to provide your API key in the \
                 Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                None,
            );
        }
        Some(given) if given != expected => {
            // Stripe masks all but the last 4 characters of the key it refuses.
            let key = given.strip_prefix("Bearer ").unwrap_or(given);
            let tail: String = key
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Answer::error(
                401,
                "invalid_request_error",
                None,
                &format!("Invalid API Key provided: sk_****{tail}"),
                None,
            );
        }
        Some(_) => {}
    }
    match record.stripe_version.as_deref() {
        Some(STRIPE_VERSION) => {}
        Some(other) => {
            return Answer::invalid(None, &format!("Invalid Stripe API version: {other}"), None);
        }
        None => {
            return Answer::invalid(
                None,
                "fake Stripe: the Stripe-Version header is missing (the client must pin it)",
                None,
            );
        }
    }

    if *method == Method::POST {
        let form_encoded = record
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if !form_encoded {
            return Answer::invalid(
                None,
                "Invalid request: unsupported Content-Type. If error persists and you need \
                 assistance, please contact support@stripe.com.",
                None,
            );
        }
        let Some(key) = record.idempotency_key.clone() else {
            return Answer::invalid(
                None,
                "fake Stripe: POST without Idempotency-Key (every POST must carry one)",
                None,
            );
        };
        let params = match params {
            Ok(params) => params,
            Err(name) => {
                return Answer::invalid(None, &format!("Invalid parameter name: {name}"), None);
            }
        };
        let mut sorted = pairs;
        sorted.sort();
        // Lookup, execution and saving under one lock: a concurrent request with the same key
        // sees the first one's answer, never a second execution.
        let mut state = shared.lock();
        if let Some(saved) = state.idempotency.get(&key).cloned() {
            if saved.method == method.as_str() && saved.path == path && saved.params == sorted {
                return Answer {
                    status: saved.status,
                    body: saved.body,
                    replayed: true,
                };
            }
            return Answer::error(
                400,
                "idempotency_error",
                None,
                &format!(
                    "Keys for idempotent requests can only be used with the same parameters \
                     they were first used with. Try using a key other than '{key}' if you \
                     meant to execute a different request."
                ),
                None,
            );
        }
        let answer = post(shared, &mut state, path, &params);
        if (200..300).contains(&answer.status) {
            state.idempotency.insert(
                key,
                Saved {
                    method: method.as_str().to_owned(),
                    path: path.to_owned(),
                    params: sorted,
                    status: answer.status,
                    body: answer.body.clone(),
                },
            );
        }
        return answer;
    }

    if *method == Method::GET {
        if let Some(id) = path.strip_prefix("/v1/subscriptions/") {
            let found = shared.lock().subscriptions.get(id).cloned();
            return match found {
                Some(subscription) => Answer::ok(subscription),
                None => Answer::no_such("subscription", id, "id", 404),
            };
        }
    }
    unrecognized(method, path)
}

fn unrecognized(method: &Method, path: &str) -> Answer {
    Answer::error(
        404,
        "invalid_request_error",
        None,
        &format!("Unrecognized request URL ({method}: {path})."),
        None,
    )
}

fn post(shared: &Shared, state: &mut State, path: &str, params: &Value) -> Answer {
    match path {
        "/v1/customers" => create_customer(shared, state, params),
        "/v1/checkout/sessions" => create_checkout_session(shared, state, params),
        "/v1/billing_portal/sessions" => create_portal_session(shared, state, params),
        "/v1/billing/meter_events" => create_meter_event(shared, state, params),
        _ => unrecognized(&Method::POST, path),
    }
}

fn text<'a>(params: &'a Value, key: &str) -> Option<&'a str> {
    params.get(key).and_then(Value::as_str)
}

fn map(params: &Value, key: &str) -> BTreeMap<String, String> {
    params
        .get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn create_customer(shared: &Shared, state: &mut State, params: &Value) -> Answer {
    let id = shared.new_id(state, "cus_");
    let customer = objects::customer(
        &id,
        text(params, "email"),
        text(params, "name"),
        &map(params, "metadata"),
        now(),
    );
    state.customers.insert(id, customer.clone());
    Answer::ok(customer)
}

fn create_checkout_session(shared: &Shared, state: &mut State, params: &Value) -> Answer {
    match text(params, "mode") {
        None => return Answer::missing("mode"),
        Some("subscription") => {}
        Some(other) => {
            return Answer::invalid(
                None,
                &format!("fake Stripe supports mode=subscription only, not {other}"),
                Some("mode"),
            );
        }
    }
    let Some(success_url) = text(params, "success_url") else {
        return Answer::missing("success_url");
    };
    let Some(lines) = params
        .get("line_items")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    else {
        return Answer::missing("line_items");
    };
    let customer = text(params, "customer").unwrap_or_default().to_owned();
    if customer.is_empty() {
        // Checkout would create a customer; Leadline always passes its tenant's.
        return Answer::invalid(
            None,
            "fake Stripe: pass `customer` (Leadline creates one per tenant first)",
            Some("customer"),
        );
    }
    if !state.customers.contains_key(&customer) {
        return Answer::no_such("customer", &customer, "customer", 400);
    }
    let mut items = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(price_id) = text(line, "price") else {
            return Answer::missing(&format!("line_items[{i}][price]"));
        };
        let Some(price) = state.prices.get(price_id) else {
            return Answer::no_such("price", price_id, &format!("line_items[{i}][price]"), 400);
        };
        let quantity = text(line, "quantity");
        match (price.usage, quantity) {
            (Usage::Metered, Some(_)) => {
                return Answer::invalid(
                    None,
                    &format!(
                        "Quantity should not be specified where usage_type is `metered`. \
                         Remove quantity from `line_items[{i}]`"
                    ),
                    Some(&format!("line_items[{i}][quantity]")),
                );
            }
            (Usage::Licensed, None) => {
                return Answer::invalid(
                    None,
                    &format!("Quantity is required. Add `quantity` to `line_items[{i}]`"),
                    Some(&format!("line_items[{i}][quantity]")),
                );
            }
            _ => {}
        }
        let quantity = match quantity.map(str::parse::<u64>) {
            None => None,
            Some(Ok(q)) if q > 0 => Some(q),
            Some(_) => {
                return Answer::invalid(
                    Some("parameter_invalid_integer"),
                    "Invalid positive integer",
                    Some(&format!("line_items[{i}][quantity]")),
                );
            }
        };
        items.push(LineItem {
            price: price_id.to_owned(),
            quantity,
        });
    }
    let subscription_metadata = params
        .get("subscription_data")
        .map(|d| map(d, "metadata"))
        .unwrap_or_default();
    let id = shared.new_id(state, "cs_test_");
    let url = format!("{}/c/pay/{id}", shared.base_url());
    let session = objects::checkout_session(
        &id,
        &url,
        &customer,
        text(params, "client_reference_id"),
        &map(params, "metadata"),
        success_url,
        text(params, "cancel_url"),
        now(),
    );
    state.sessions.insert(id.clone(), session.clone());
    state
        .session_lines
        .insert(id, (items, subscription_metadata));
    Answer::ok(session)
}

fn create_portal_session(shared: &Shared, state: &mut State, params: &Value) -> Answer {
    let Some(customer) = text(params, "customer") else {
        return Answer::missing("customer");
    };
    if !state.customers.contains_key(customer) {
        return Answer::no_such("customer", customer, "customer", 400);
    }
    let id = shared.new_id(state, "bps_");
    let token = shared.new_id(state, "test_");
    let url = format!("{}/p/session/{token}", shared.base_url());
    Answer::ok(objects::billing_portal_session(
        &id,
        &url,
        customer,
        text(params, "return_url"),
        now(),
    ))
}

fn create_meter_event(shared: &Shared, state: &mut State, params: &Value) -> Answer {
    let Some(event_name) = text(params, "event_name") else {
        return Answer::missing("event_name");
    };
    let payload = map(params, "payload");
    let Some(customer) = payload.get("stripe_customer_id").cloned() else {
        return Answer::missing("payload[stripe_customer_id]");
    };
    let Some(value) = payload.get("value").cloned() else {
        return Answer::missing("payload[value]");
    };
    // UNCONFIRMED: Stripe validates the value's format asynchronously (meter error reports);
    // the fake refuses a non-integer at once so a client bug shows in tests.
    if value.parse::<i64>().is_err() {
        return Answer::invalid(
            None,
            "payload[value] must be a whole number",
            Some("payload[value]"),
        );
    }
    let current = now();
    let timestamp = match text(params, "timestamp").map(str::parse::<i64>) {
        None => current,
        Some(Ok(t)) => t,
        Some(Err(_)) => {
            return Answer::invalid(
                Some("parameter_invalid_integer"),
                "Invalid integer",
                Some("timestamp"),
            );
        }
    };
    // Stripe accepts events from the past 35 days and up to 5 minutes ahead.
    if timestamp < current - 35 * 24 * 60 * 60 || timestamp > current + 5 * 60 {
        return Answer::invalid(
            None,
            "timestamp must be within the past 35 days and not more than 5 minutes in the future",
            Some("timestamp"),
        );
    }
    let identifier = match text(params, "identifier") {
        Some(identifier) => identifier.to_owned(),
        None => shared.new_id(state, "mev_"),
    };
    // Stripe enforces identifier uniqueness (for at least 24 h); a duplicate is not counted
    // again. UNCONFIRMED: what Stripe answers synchronously for it; the fake answers the
    // first event's object.
    if let Some(first) = state
        .meter_events
        .iter()
        .find(|e| e.identifier == identifier)
        .cloned()
    {
        let mut payload = BTreeMap::new();
        payload.insert(
            "stripe_customer_id".to_owned(),
            first.stripe_customer_id.clone(),
        );
        payload.insert("value".to_owned(), first.value.clone());
        return Answer::ok(objects::meter_event(
            &first.event_name,
            &first.identifier,
            &payload,
            first.timestamp,
            current,
        ));
    }
    state.meter_events.push(RecordedMeterEvent {
        event_name: event_name.to_owned(),
        identifier: identifier.clone(),
        stripe_customer_id: customer,
        value,
        timestamp,
    });
    Answer::ok(objects::meter_event(
        event_name,
        &identifier,
        &payload,
        timestamp,
        current,
    ))
}
