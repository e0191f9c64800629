//! The REST client against the fake: request shapes, auth, and error classification.

use std::time::Duration;

use leadline_twilio::error::{TwilioError, CODE_AUTHENTICATE};
use leadline_twilio::fake::{Failure, FakeTwilio};
use leadline_twilio::twiml::{Dial, Response};
use leadline_twilio::{
    CallInstructions, CallStatus, Client, CreateCall, Direction, Error, MachineDetection, Settings,
    UpdateCall,
};

use crate::support::client;

fn outbound() -> CreateCall {
    CreateCall::new(
        "+15005550009",
        "+15005550001",
        CallInstructions::Url("https://api.example/api/voice/twilio/outbound".to_owned()),
    )
    .with_status_callback("https://api.example/api/voice/twilio/status")
    .with_async_amd(
        MachineDetection::DetectMessageEnd,
        "https://api.example/api/voice/twilio/amd",
    )
}

#[tokio::test]
async fn create_call_sends_the_documented_form_with_basic_auth() {
    let fake = FakeTwilio::start().await.unwrap();
    let client = client(&fake);
    let call = client.create_call(&outbound()).await.unwrap();
    assert!(call.sid.starts_with("CA") && call.sid.len() == 34);
    assert_eq!(call.status, CallStatus::Queued);
    assert_eq!(call.direction, Some(Direction::OutboundApi));
    assert_eq!(call.account_sid, fake.account_sid());
    assert_eq!(call.to.as_deref(), Some("+15005550009"));

    let request = &fake.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{}/Calls.json", fake.account_sid())
    );
    assert!(request.authenticated);
    assert!(request
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Basic "));
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.status, 201);
    assert_eq!(request.param("To"), Some("+15005550009"));
    assert_eq!(request.param("From"), Some("+15005550001"));
    assert_eq!(
        request.param("Url"),
        Some("https://api.example/api/voice/twilio/outbound")
    );
    assert_eq!(
        request.param("StatusCallback"),
        Some("https://api.example/api/voice/twilio/status")
    );
    assert_eq!(
        request.params("StatusCallbackEvent"),
        vec!["initiated", "ringing", "answered", "completed"]
    );
    assert_eq!(request.param("MachineDetection"), Some("DetectMessageEnd"));
    assert_eq!(request.param("AsyncAmd"), Some("true"));
    assert_eq!(
        request.param("AsyncAmdStatusCallback"),
        Some("https://api.example/api/voice/twilio/amd")
    );
    assert_eq!(request.param("Twiml"), None);

    // Inline TwiML instead of a URL.
    let twiml = Response::new().hangup().to_fragment();
    let inline = CreateCall::new(
        "+15005550009",
        "+15005550001",
        CallInstructions::Twiml(twiml.clone()),
    );
    let second = client.create_call(&inline).await.unwrap();
    assert_ne!(second.sid, call.sid);
    assert_eq!(fake.requests()[1].param("Twiml"), Some(twiml.as_str()));
    assert_eq!(fake.requests()[1].param("Url"), None);
    assert_eq!(fake.requests()[1].param("StatusCallback"), None);
}

#[tokio::test]
async fn update_transfers_with_twiml_completes_and_fetches() {
    let fake = FakeTwilio::start().await.unwrap();
    let client = client(&fake);
    let call = client.create_call(&outbound()).await.unwrap();

    let transfer = Response::new()
        .dial(
            Dial::new("+15551234567")
                .caller_id("+15005550001")
                .timeout(20)
                .action("https://api.example/dial-done"),
        )
        .to_fragment();
    let updated = client
        .update_call(&call.sid, &UpdateCall::Twiml(transfer.clone()))
        .await
        .unwrap();
    assert_eq!(updated.sid, call.sid);
    let request = fake.requests().last().cloned().unwrap();
    assert_eq!(
        request.path,
        format!(
            "/2010-04-01/Accounts/{}/Calls/{}.json",
            fake.account_sid(),
            call.sid
        )
    );
    assert_eq!(request.form, vec![("Twiml".to_owned(), transfer.clone())]);
    assert_eq!(
        fake.call(&call.sid).unwrap().twiml.as_deref(),
        Some(transfer.as_str())
    );

    let done = client.complete_call(&call.sid).await.unwrap();
    assert_eq!(done.status, CallStatus::Completed);
    assert_eq!(
        fake.requests().last().unwrap().form,
        vec![("Status".to_owned(), "completed".to_owned())]
    );
    let fetched = client.fetch_call(&call.sid).await.unwrap();
    assert_eq!(fetched.status, CallStatus::Completed);
    assert_eq!(fake.requests().last().unwrap().method, "GET");

    assert!(matches!(
        client.fetch_call("CAdoesnotexist").await,
        Err(Error::NotFound(_))
    ));
    // A value that would rewrite the path is refused before sending.
    let before = fake.requests().len();
    assert!(matches!(
        client.fetch_call("../Messages").await,
        Err(Error::Rejected { status: 0, .. })
    ));
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_terminal() {
    let fake = FakeTwilio::start().await.unwrap();
    let wrong = Client::new(
        reqwest::Client::new(),
        &fake.base_url(),
        fake.account_sid(),
        "wrong-token",
        leadline_twilio::client::DEFAULT_TIMEOUT,
    )
    .unwrap();
    let err = wrong.create_call(&outbound()).await.unwrap_err();
    assert_eq!(
        err,
        Error::Unauthorized {
            code: Some(CODE_AUTHENTICATE),
            message: "Authenticate".to_owned()
        }
    );
    assert!(!err.is_retryable());
    let request = &fake.requests()[0];
    assert!(!request.authenticated);
    assert_eq!(request.status, 401);
    assert!(fake.calls().is_empty());

    // Right token, another account's path.
    let other = Client::new(
        reqwest::Client::new(),
        &fake.base_url(),
        "AC0000000000000000000000000000beef",
        fake.auth_token(),
        leadline_twilio::client::DEFAULT_TIMEOUT,
    )
    .unwrap();
    assert!(matches!(
        other.create_call(&outbound()).await,
        Err(Error::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn invalid_numbers_are_refused_locally_and_by_twilio() {
    let fake = FakeTwilio::start().await.unwrap();
    let client = client(&fake);
    let mut bad = outbound();
    bad.to = "5551234".to_owned();
    let err = client.create_call(&bad).await.unwrap_err();
    assert!(matches!(err, Error::InvalidPhoneNumber(_)));
    assert!(fake.requests().is_empty(), "nothing sent");

    // Twilio's own 21211 (a number that looks E.164 but is not dialable).
    fake.fail_next(Failure::twilio(
        400,
        21211,
        "The 'To' number +15005550001 is not a valid phone number.",
    ));
    let err = client.create_call(&outbound()).await.unwrap_err();
    assert_eq!(
        err,
        Error::InvalidPhoneNumber(
            "The 'To' number +15005550001 is not a valid phone number.".to_owned()
        )
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn rate_limits_server_errors_and_timeouts_are_retryable() {
    let fake = FakeTwilio::start().await.unwrap();
    let client = client(&fake).with_timeout(Duration::from_millis(300));

    fake.fail_next(Failure::RateLimited {
        retry_after_secs: Some(7),
    });
    let err = client.create_call(&outbound()).await.unwrap_err();
    assert_eq!(
        err,
        Error::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));

    fake.fail_next(Failure::twilio(503, 20500, "Service Unavailable"));
    let err = client.create_call(&outbound()).await.unwrap_err();
    assert!(matches!(err, Error::Transient { status: 503, .. }));
    assert!(err.is_retryable());

    fake.fail_next(Failure::Raw {
        status: 502,
        body: "<html>Bad Gateway</html>".to_owned(),
    });
    let err = client.create_call(&outbound()).await.unwrap_err();
    assert!(matches!(err, Error::Transient { status: 502, .. }));

    fake.fail_next(Failure::Delay(Duration::from_secs(2)));
    let err = client.create_call(&outbound()).await.unwrap_err();
    assert!(matches!(err, Error::Transient { status: 0, .. }), "{err:?}");
    assert!(err.is_retryable());

    // Nothing listening: a connection failure is transient too.
    let closed = Client::new(
        reqwest::Client::new(),
        "http://127.0.0.1:9",
        fake.account_sid(),
        fake.auth_token(),
        leadline_twilio::client::DEFAULT_TIMEOUT,
    )
    .unwrap();
    assert!(closed
        .create_call(&outbound())
        .await
        .unwrap_err()
        .is_retryable());

    // After the injected failures, the fake answers normally again.
    client.create_call(&outbound()).await.unwrap();
}

#[test]
fn twilio_error_bodies_are_classified_by_code_first() {
    let body = |code: u32, status: u16| {
        serde_json::to_string(&TwilioError {
            code: Some(code),
            message: format!("m{code}"),
            more_info: Some(format!("https://www.twilio.com/docs/errors/{code}")),
            status: Some(status),
        })
        .unwrap()
    };
    assert!(matches!(
        Error::from_response(401, None, &body(20003, 401)),
        Error::Unauthorized {
            code: Some(20003),
            ..
        }
    ));
    assert_eq!(
        Error::from_response(400, None, &body(21211, 400)),
        Error::InvalidPhoneNumber("m21211".to_owned())
    );
    assert_eq!(
        Error::from_response(429, Some("3"), &body(20429, 429)),
        Error::RateLimited {
            retry_after: Some(Duration::from_secs(3))
        }
    );
    // 20429 under another status, and a bare 429, are both rate limits.
    assert!(matches!(
        Error::from_response(400, None, &body(20429, 400)),
        Error::RateLimited { retry_after: None }
    ));
    assert!(matches!(
        Error::from_response(429, Some("soon"), ""),
        Error::RateLimited { retry_after: None }
    ));
    assert_eq!(
        Error::from_response(404, None, &body(20404, 404)),
        Error::NotFound("m20404".to_owned())
    );
    assert!(matches!(
        Error::from_response(404, None, "not json"),
        Error::NotFound(_)
    ));
    assert!(matches!(
        Error::from_response(500, None, &body(20500, 500)),
        Error::Transient { status: 500, .. }
    ));
    assert!(matches!(
        Error::from_response(400, None, &body(21205, 400)),
        Error::Rejected {
            status: 400,
            code: Some(21205),
            ..
        }
    ));
    assert!(matches!(
        Error::from_response(403, None, ""),
        Error::Unauthorized { code: None, .. }
    ));
    for retryable in [
        Error::from_response(429, None, ""),
        Error::from_response(500, None, ""),
        Error::from_response(503, None, ""),
    ] {
        assert!(retryable.is_retryable());
    }
    for terminal in [
        Error::from_response(401, None, &body(20003, 401)),
        Error::from_response(400, None, &body(21211, 400)),
        Error::from_response(404, None, &body(20404, 404)),
        Error::from_response(400, None, ""),
        Error::Decode("x".to_owned()),
    ] {
        assert!(!terminal.is_retryable());
    }
}

#[tokio::test]
async fn an_undecodable_success_is_a_decode_error() {
    let fake = FakeTwilio::start().await.unwrap();
    fake.fail_next(Failure::Raw {
        status: 201,
        body: "<html>surprise</html>".to_owned(),
    });
    assert!(matches!(
        client(&fake).create_call(&outbound()).await,
        Err(Error::Decode(_))
    ));
}

#[tokio::test]
async fn the_settings_timeout_bounds_every_request() {
    let fake = FakeTwilio::start().await.unwrap();
    let client = Settings {
        timeout: Some(Duration::from_millis(200)),
        ..fake.settings()
    }
    .client(reqwest::Client::new())
    .unwrap();
    fake.fail_next(Failure::Delay(Duration::from_secs(2)));
    let started = std::time::Instant::now();
    let err = client.create_call(&outbound()).await.unwrap_err();
    assert!(matches!(err, Error::Transient { status: 0, .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn settings_name_what_is_missing() {
    let empty = Settings::default();
    assert_eq!(
        empty.missing(),
        vec!["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]
    );
    assert_eq!(empty.api_base(), "https://api.twilio.com");
    assert!(matches!(
        empty.client(reqwest::Client::new()),
        Err(Error::Configuration(m)) if m.contains("TWILIO_ACCOUNT_SID")
    ));
    assert!(
        matches!(empty.receiver(), Err(Error::Configuration(m)) if m.contains("TWILIO_AUTH_TOKEN"))
    );
    let set = Settings {
        account_sid: Some("AC1".to_owned()),
        auth_token: Some("secret-token".to_owned()),
        api_base: Some("  ".to_owned()),
        timeout: None,
    };
    assert!(set.missing().is_empty());
    assert_eq!(set.api_base(), "https://api.twilio.com");
    assert!(!format!("{set:?}").contains("secret-token"));
    let client = set.client(reqwest::Client::new()).unwrap();
    assert_eq!(client.base_url(), "https://api.twilio.com");
    assert!(!format!("{client:?}").contains("secret-token"));
    assert!(matches!(
        Client::new(
            reqwest::Client::new(),
            "api.twilio.com",
            "AC1",
            "t",
            leadline_twilio::client::DEFAULT_TIMEOUT
        ),
        Err(Error::Configuration(_))
    ));
    assert!(matches!(
        Client::new(
            reqwest::Client::new(),
            "https://api.twilio.com",
            "AC1",
            "t",
            Duration::ZERO
        ),
        Err(Error::Configuration(_))
    ));
}
