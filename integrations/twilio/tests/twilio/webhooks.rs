//! Request validation: the shared vectors, platforms.md's vectors, URL port variants,
//! bodySHA256, tampering, the account check, parsing, and the fake's signed posts.

use leadline_twilio::error::SignatureProblem;
use leadline_twilio::fake::FakeTwilio;
use leadline_twilio::webhook::{body_sha256, decode_form, signature, url_variants};
use leadline_twilio::{AnsweredBy, CallStatus, Direction, Error, Receiver, WebhookKind};
use serde_json::Value;

use crate::support::{form_body, pairs, signed, vector_file, Sink};

const DOC_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

fn doc_params() -> Vec<(String, String)> {
    pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

#[test]
fn every_shared_vector_verifies_or_fails_as_marked() {
    let vectors: Vec<Value> = serde_json::from_str(&vector_file("twilio.json")).unwrap();
    assert!(vectors.len() >= 3);
    for vector in vectors {
        let token = vector["auth_token"].as_str().unwrap();
        let url = vector["url"].as_str().unwrap();
        let params: Vec<(String, String)> = vector["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let expected = vector["signature"].as_str().unwrap();
        let valid = vector["valid"].as_bool().unwrap();
        let receiver = Receiver::new(token).unwrap();
        // Through the raw form body, exactly as the route sees it (UTF-8 percent-encoded).
        let body = form_body(&params);
        let got = receiver.receive(url, &signed(expected), &body);
        assert_eq!(got.is_ok(), valid, "vector {vector}: {got:?}");
        assert_eq!(
            receiver.verify_params(url, &params, expected).is_ok(),
            valid
        );
        if valid {
            assert_eq!(signature(token, url, &params), expected);
            let hook = got.unwrap();
            assert_eq!(hook.params.len(), params.len());
        } else {
            assert_eq!(
                got.unwrap_err(),
                Error::SignatureInvalid(SignatureProblem::Mismatch)
            );
        }
    }
}

#[test]
fn the_platform_notes_vectors_hold() {
    assert_eq!(
        signature("12345", DOC_URL, &doc_params()),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    assert_eq!(
        signature(
            "12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &doc_params()
        ),
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    );
    // Repeated names: each value, values sorted.
    let repeated = pairs(&[
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
    ]);
    assert_eq!(
        signature("12345", DOC_URL, &repeated),
        "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    );
    let receiver = Receiver::new("12345").unwrap();
    receiver
        .verify_params(DOC_URL, &repeated, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
        .unwrap();
}

#[test]
fn url_port_variants_are_accepted_both_ways() {
    let receiver = Receiver::new("12345").unwrap();
    let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    // Signed without the port, received with it, and the reverse.
    receiver
        .verify_params(with_port, &doc_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        .unwrap();
    receiver
        .verify_params(DOC_URL, &doc_params(), "kvajT1Ptam85bY51eRf/AJRuM3w=")
        .unwrap();
    // http and :80.
    let params = doc_params();
    let sig = signature("12345", "http://example.com:80/voice", &params);
    receiver
        .verify_params("http://example.com/voice", &params, &sig)
        .unwrap();
    // A non-default port is part of the URL: never dropped or swapped.
    let sig = signature("12345", "https://example.com:8443/voice", &params);
    assert_eq!(
        receiver.verify_params("https://example.com/voice", &params, &sig),
        Err(SignatureProblem::Mismatch)
    );
    assert_eq!(
        url_variants("https://u:p@example.com/x?y=1").unwrap(),
        vec![
            "https://u:p@example.com/x?y=1".to_owned(),
            "https://u:p@example.com:443/x?y=1".to_owned()
        ]
    );
    assert_eq!(
        url_variants("https://[::1]:443/x").unwrap(),
        vec![
            "https://[::1]:443/x".to_owned(),
            "https://[::1]/x".to_owned()
        ]
    );
    assert_eq!(url_variants("/relative"), None);
    assert_eq!(url_variants("ftp://example.com/"), None);
    assert_eq!(
        receiver.verify_params("not a url", &params, "x"),
        Err(SignatureProblem::BadUrl)
    );
}

#[test]
fn json_bodies_are_checked_against_body_sha256() {
    let body = br#"{"property": "value", "boolean": true}"#;
    let hash = body_sha256(body);
    assert_eq!(
        hash,
        "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    );
    let url = format!("{DOC_URL}&bodySHA256={hash}");
    let receiver = Receiver::new("12345").unwrap();
    let headers = signed("a9nBmqA0ju/hNViExpshrM61xv4=");
    let value = receiver.receive_json(&url, &headers, body).unwrap();
    assert_eq!(value["property"], "value");
    // Same URL and signature, another body.
    assert_eq!(
        receiver.receive_json(&url, &headers, br#"{"property": "other", "boolean": true}"#),
        Err(Error::SignatureInvalid(SignatureProblem::BodyMismatch))
    );
    // A URL without bodySHA256 vouches for no body.
    let sig = signature("12345", DOC_URL, &[]);
    assert_eq!(
        receiver.receive_json(DOC_URL, &signed(&sig), body),
        Err(Error::SignatureInvalid(SignatureProblem::MissingBodyHash))
    );
    // A tampered hash in the URL breaks the signature.
    let forged = format!("{DOC_URL}&bodySHA256={}", body_sha256(b"{}"));
    assert_eq!(
        receiver.receive_json(&forged, &headers, b"{}"),
        Err(Error::SignatureInvalid(SignatureProblem::Mismatch))
    );
}

#[test]
fn tampered_param_url_or_token_is_refused() {
    let params = doc_params();
    let sig = signature("12345", DOC_URL, &params);
    let receiver = Receiver::new("12345").unwrap();
    let body = form_body(&params);
    receiver.receive(DOC_URL, &signed(&sig), &body).unwrap();

    let mut tampered = params.clone();
    tampered[3].1 = "+14158675300".to_owned();
    let mismatch = Err(Error::SignatureInvalid(SignatureProblem::Mismatch));
    assert_eq!(
        receiver.receive(DOC_URL, &signed(&sig), &form_body(&tampered)),
        mismatch
    );
    let mut extra = params.clone();
    extra.push(("Evil".to_owned(), "1".to_owned()));
    assert_eq!(
        receiver.receive(DOC_URL, &signed(&sig), &form_body(&extra)),
        mismatch
    );
    assert_eq!(
        receiver.receive(
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &signed(&sig),
            &body
        ),
        mismatch
    );
    assert_eq!(
        receiver.receive(
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &signed(&sig),
            &body
        ),
        mismatch
    );
    let other = Receiver::new("54321").unwrap();
    assert_eq!(other.receive(DOC_URL, &signed(&sig), &body), mismatch);
    assert_eq!(
        receiver.receive(DOC_URL, &signed("not base64!"), &body),
        mismatch
    );
    assert_eq!(
        receiver.receive(DOC_URL, &http::HeaderMap::new(), &body),
        Err(Error::SignatureInvalid(SignatureProblem::MissingHeader))
    );
    assert!(matches!(Receiver::new("  "), Err(Error::Configuration(_))));
}

#[test]
fn account_sid_must_match_when_configured() {
    let url = "https://api.example/api/voice/twilio/incoming";
    let params = pairs(&[("AccountSid", "ACaaa"), ("CallSid", "CA1")]);
    let sig = signature("tok", url, &params);
    let body = form_body(&params);
    let receiver = Receiver::new("tok").unwrap();
    receiver.receive(url, &signed(&sig), &body).unwrap();
    receiver
        .clone()
        .with_account_sid("ACaaa")
        .receive(url, &signed(&sig), &body)
        .unwrap();
    assert_eq!(
        receiver
            .with_account_sid("ACbbb")
            .receive(url, &signed(&sig), &body),
        Err(Error::SignatureInvalid(SignatureProblem::AccountMismatch))
    );
}

#[test]
fn forms_parse_into_typed_webhooks_tolerating_unknown_fields() {
    let url = "https://api.example/hook";
    let params = pairs(&[
        ("AccountSid", "AC1"),
        ("CallSid", "CA1"),
        ("From", "+15005550006"),
        ("To", "+15005550001"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
        ("CallerName", "Zoë & co <x>"),
        ("SomethingNew", "kept"),
    ]);
    let receiver = Receiver::new("tok").unwrap();
    let hook = receiver
        .receive(
            url,
            &signed(&signature("tok", url, &params)),
            &form_body(&params),
        )
        .unwrap();
    assert_eq!(hook.kind(), WebhookKind::Call);
    assert_eq!(hook.call_sid.as_deref(), Some("CA1"));
    assert_eq!(hook.call_status, Some(CallStatus::Ringing));
    assert_eq!(hook.direction, Some(Direction::Inbound));
    assert_eq!(hook.caller_name.as_deref(), Some("Zoë & co <x>"));
    assert_eq!(hook.param("SomethingNew"), Some("kept"));

    let status = pairs(&[
        ("CallSid", "CA1"),
        ("CallStatus", "completed"),
        ("CallDuration", "42"),
        ("RecordingUrl", "https://api.twilio.com/rec/RE1"),
        ("CallbackSource", "call-progress-events"),
        ("SequenceNumber", "3"),
        ("AnsweredBy", "machine_end_beep"),
        ("SipResponseCode", "200"),
        ("Direction", "outbound-api"),
    ]);
    let hook = receiver
        .receive(
            url,
            &signed(&signature("tok", url, &status)),
            &form_body(&status),
        )
        .unwrap();
    assert_eq!(hook.kind(), WebhookKind::Status);
    assert_eq!(hook.call_duration_secs, Some(42));
    assert_eq!(hook.sequence_number, Some(3));
    assert_eq!(hook.sip_response_code, Some(200));
    assert!(hook.answered_by.as_ref().unwrap().is_machine());
    assert!(hook.call_status.as_ref().unwrap().is_final());
    assert_eq!(
        hook.recording_url.as_deref(),
        Some("https://api.twilio.com/rec/RE1")
    );

    let amd = pairs(&[
        ("CallSid", "CA1"),
        ("AnsweredBy", "human"),
        ("MachineDetectionDuration", "1200"),
    ]);
    let hook = receiver
        .receive(url, &signed(&signature("tok", url, &amd)), &form_body(&amd))
        .unwrap();
    assert_eq!(hook.kind(), WebhookKind::Amd);
    assert_eq!(hook.answered_by, Some(AnsweredBy::Human));

    let odd = pairs(&[("CallStatus", "teleporting"), ("DialCallStatus", "busy")]);
    let hook = receiver
        .receive(url, &signed(&signature("tok", url, &odd)), &form_body(&odd))
        .unwrap();
    assert_eq!(hook.kind(), WebhookKind::DialAction);
    assert_eq!(
        hook.call_status,
        Some(CallStatus::Other("teleporting".to_owned()))
    );
    assert_eq!(
        decode_form(b"a=1&b=x+y%26"),
        pairs(&[("a", "1"), ("b", "x y&")])
    );
}

#[tokio::test]
async fn the_fake_signs_its_posts_as_twilio_does() {
    let fake = FakeTwilio::start().await.unwrap();
    let mut sink = Sink::start("<Response/>").await;
    let receiver = fake.settings().receiver().unwrap();

    // Incoming call, signed over the public URL while posted to the loopback one.
    let public = "https://leadline.example/api/voice/twilio/incoming";
    let sent = fake
        .incoming_call(
            &sink.url("incoming"),
            public,
            "+15005550006",
            "+15005550001",
        )
        .await
        .unwrap();
    assert_eq!(sent.status, 200);
    let delivery = sink.next().await;
    let hook = receiver
        .receive(public, &delivery.headers, &delivery.body)
        .unwrap();
    assert_eq!(hook.call_status, Some(CallStatus::Ringing));
    assert_eq!(hook.from.as_deref(), Some("+15005550006"));
    assert_eq!(hook.account_sid.as_deref(), Some(fake.account_sid()));
    assert!(hook.call_sid.as_deref().unwrap().starts_with("CA"));
    assert_eq!(hook.call_sid.as_deref().unwrap().len(), 34);
    // The loopback URL is not what was signed.
    assert!(receiver
        .receive(&sink.url("incoming"), &delivery.headers, &delivery.body)
        .is_err());

    // An outbound call's status callbacks and AMD verdict go to the URLs of its create form.
    let client = crate::support::client(&fake);
    let call = client
        .create_call(
            &leadline_twilio::CreateCall::new(
                "+15005550009",
                "+15005550001",
                leadline_twilio::CallInstructions::Url(sink.url("answer")),
            )
            .with_status_callback(sink.url("status"))
            .with_async_amd(
                leadline_twilio::MachineDetection::DetectMessageEnd,
                sink.url("amd"),
            ),
        )
        .await
        .unwrap();
    fake.status_callback(&call.sid, CallStatus::Ringing, None)
        .await
        .unwrap();
    let delivery = sink.next().await;
    let hook = receiver
        .receive(&sink.url("status"), &delivery.headers, &delivery.body)
        .unwrap();
    assert_eq!(hook.kind(), WebhookKind::Status);
    assert_eq!(hook.sequence_number, Some(0));
    assert_eq!(hook.direction, Some(Direction::OutboundApi));

    fake.amd_result(&call.sid, AnsweredBy::MachineEndBeep)
        .await
        .unwrap();
    let delivery = sink.next().await;
    let hook = receiver
        .receive(&sink.url("amd"), &delivery.headers, &delivery.body)
        .unwrap();
    assert_eq!(hook.kind(), WebhookKind::Amd);
    assert_eq!(hook.answered_by, Some(AnsweredBy::MachineEndBeep));

    fake.status_callback(&call.sid, CallStatus::Completed, Some(37))
        .await
        .unwrap();
    let delivery = sink.next().await;
    let hook = receiver
        .receive(&sink.url("status"), &delivery.headers, &delivery.body)
        .unwrap();
    assert_eq!(hook.call_status, Some(CallStatus::Completed));
    assert_eq!(hook.call_duration_secs, Some(37));
    assert_eq!(hook.sequence_number, Some(1));
    assert_eq!(hook.answered_by, Some(AnsweredBy::MachineEndBeep));
    assert_eq!(delivery.path, "/hooks/status");
    assert_eq!(fake.call(&call.sid).unwrap().call.duration_secs(), Some(37));
}
