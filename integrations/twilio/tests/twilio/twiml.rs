//! The TwiML builder: exact output and escaping of every value.

use leadline_twilio::fake::parse_stream_twiml;
use leadline_twilio::twiml::{escape, Dial, Response, Say, Stream, XML_DECLARATION};

#[test]
fn exact_output_of_every_verb() {
    let xml = Response::new()
        .say(
            Say::new("Hola, un momento")
                .voice("Polly.Lupe")
                .language("es-MX"),
        )
        .pause(Some(1))
        .pause(None)
        .dial(
            Dial::new("+15551234567")
                .caller_id("+15005550001")
                .timeout(20)
                .action("https://api.example/dial-done"),
        )
        .hangup()
        .to_xml();
    assert_eq!(
        xml,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
            r#"<Say voice="Polly.Lupe" language="es-MX">Hola, un momento</Say>"#,
            r#"<Pause length="1"/><Pause/>"#,
            r#"<Dial callerId="+15005550001" timeout="20" action="https://api.example/dial-done">+15551234567</Dial>"#,
            r#"<Hangup/></Response>"#
        )
    );
}

#[test]
fn connect_stream_matches_the_platform_notes() {
    let xml = Response::new()
        .connect_stream(Stream::new("wss://example.com/media").parameter("tenant", "abc"))
        .to_xml();
    assert_eq!(
        xml,
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://example.com/media"><Parameter name="tenant" value="abc"/></Stream></Connect></Response>"#
    );
    let bare = Response::new()
        .connect_stream(Stream::new("wss://x/m").name("call"))
        .to_fragment();
    assert_eq!(
        bare,
        r#"<Response><Connect><Stream url="wss://x/m" name="call"/></Connect></Response>"#
    );
    assert_eq!(
        Response::new().to_xml(),
        format!("{XML_DECLARATION}<Response></Response>")
    );
}

#[test]
fn every_value_is_escaped() {
    assert_eq!(
        escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;"
    );
    // Control characters XML 1.0 cannot carry are dropped; tab and newlines stay.
    assert_eq!(escape("a\u{0}b\u{1b}c\td\ne"), "abc\td\ne");

    let hostile = r#""/><Hangup/><Say x=""#;
    let xml = Response::new()
        .say(Say::new("Fish & <Chips>").voice(hostile).language("en\"US"))
        .dial(
            Dial::new("<Number>")
                .caller_id("'+1'")
                .action("https://x/?a=1&b=2"),
        )
        .connect_stream(
            Stream::new("wss://x/m?t=1&u=\"2\"")
                .parameter("name", "O'Brien & \"Sons\" <ltd>")
                .parameter(hostile, "v"),
        )
        .to_fragment();
    assert_eq!(
        xml,
        concat!(
            "<Response>",
            r#"<Say voice="&quot;/&gt;&lt;Hangup/&gt;&lt;Say x=&quot;" language="en&quot;US">Fish &amp; &lt;Chips&gt;</Say>"#,
            r#"<Dial callerId="&apos;+1&apos;" action="https://x/?a=1&amp;b=2">&lt;Number&gt;</Dial>"#,
            r#"<Connect><Stream url="wss://x/m?t=1&amp;u=&quot;2&quot;">"#,
            r#"<Parameter name="name" value="O&apos;Brien &amp; &quot;Sons&quot; &lt;ltd&gt;"/>"#,
            r#"<Parameter name="&quot;/&gt;&lt;Hangup/&gt;&lt;Say x=&quot;" value="v"/>"#,
            "</Stream></Connect></Response>"
        )
    );
    // Only the one Hangup-free structure: the hostile values did not add verbs.
    assert!(!xml.contains("<Hangup/>"));
    // Twilio (the fake reads it as Twilio does) gets the values back unescaped.
    let stream = parse_stream_twiml(&xml).unwrap();
    assert_eq!(stream.url, "wss://x/m?t=1&u=\"2\"");
    assert_eq!(stream.parameters["name"], "O'Brien & \"Sons\" <ltd>");
    assert_eq!(stream.parameters[hostile], "v");
}
