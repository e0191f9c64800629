//! A typed TwiML builder (platforms.md §6): the answer to a voice webhook (`Content-Type:
//! text/xml`) and the `Twiml` of a call update.
//!
//! Every text and attribute value is escaped (`&`, `<`, `>`, `"`, `'`), and characters XML 1.0
//! cannot carry (control characters other than tab and newlines) are dropped, because values
//! come from callers, leads and settings: an unescaped `"` in a `<Parameter>` would let a lead's
//! name rewrite the stream URL.
//!
//! ```
//! use leadline_twilio::twiml::{Response, Say, Stream};
//! let xml = Response::new()
//!     .say(Say::new("One moment").language("en-US"))
//!     .connect_stream(Stream::new("wss://example.com/media").parameter("tenant", "abc"))
//!     .to_xml();
//! assert!(xml.ends_with(r#"<Parameter name="tenant" value="abc"/></Stream></Connect></Response>"#));
//! ```

use std::fmt::Write as _;

/// The XML declaration Twilio's libraries put first.
pub const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
/// The `Content-Type` of a TwiML answer.
pub const CONTENT_TYPE: &str = "text/xml";

/// Escapes `value` for XML text and attribute values.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `<Say>`: text read by a voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Say {
    text: String,
    voice: Option<String>,
    language: Option<String>,
}

impl Say {
    /// Reads `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Say {
            text: text.into(),
            voice: None,
            language: None,
        }
    }

    /// `voice` (`alice`, `Polly.Lupe`...).
    pub fn voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// `language` (`en-US`, `es-MX`...).
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }
}

/// `<Dial>`: connect the caller to a number (the human operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    number: String,
    caller_id: Option<String>,
    timeout_secs: Option<u32>,
    action: Option<String>,
}

impl Dial {
    /// Dials `number` (E.164).
    pub fn new(number: impl Into<String>) -> Self {
        Dial {
            number: number.into(),
            caller_id: None,
            timeout_secs: None,
            action: None,
        }
    }

    /// `callerId`: the number the callee sees.
    pub fn caller_id(mut self, caller_id: impl Into<String>) -> Self {
        self.caller_id = Some(caller_id.into());
        self
    }

    /// `timeout`: seconds to let it ring.
    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout_secs = Some(secs);
        self
    }

    /// `action`: where `DialCallStatus` is posted when the dialled call ends.
    pub fn action(mut self, url: impl Into<String>) -> Self {
        self.action = Some(url.into());
        self
    }
}

/// `<Stream>` inside `<Connect>`: a bidirectional Media Stream to a `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    url: String,
    name: Option<String>,
    parameters: Vec<(String, String)>,
}

impl Stream {
    /// Streams to `url` (`wss://…`).
    pub fn new(url: impl Into<String>) -> Self {
        Stream {
            url: url.into(),
            name: None,
            parameters: Vec::new(),
        }
    }

    /// `name` of the stream.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A `<Parameter name value/>`: arrives in the `start` message's `customParameters`.
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.push((name.into(), value.into()));
        self
    }
}

/// One verb of a `<Response>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `<Say>`.
    Say(Say),
    /// `<Dial>`.
    Dial(Dial),
    /// `<Connect><Stream>`.
    ConnectStream(Stream),
    /// `<Pause length>`.
    Pause(Option<u32>),
    /// `<Hangup/>`.
    Hangup,
}

/// A `<Response>`: verbs run in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    verbs: Vec<Verb>,
}

impl Response {
    /// An empty response (Twilio hangs up after it).
    pub fn new() -> Self {
        Response::default()
    }

    /// Appends a verb.
    pub fn verb(mut self, verb: Verb) -> Self {
        self.verbs.push(verb);
        self
    }

    /// Appends `<Say>`.
    pub fn say(self, say: Say) -> Self {
        self.verb(Verb::Say(say))
    }

    /// Appends `<Dial>`.
    pub fn dial(self, dial: Dial) -> Self {
        self.verb(Verb::Dial(dial))
    }

    /// Appends `<Connect><Stream>`.
    pub fn connect_stream(self, stream: Stream) -> Self {
        self.verb(Verb::ConnectStream(stream))
    }

    /// Appends `<Pause>` (`length` seconds, Twilio's default 1 when `None`).
    pub fn pause(self, length_secs: Option<u32>) -> Self {
        self.verb(Verb::Pause(length_secs))
    }

    /// Appends `<Hangup/>`.
    pub fn hangup(self) -> Self {
        self.verb(Verb::Hangup)
    }

    /// The verbs.
    pub fn verbs(&self) -> &[Verb] {
        &self.verbs
    }

    /// The document with the XML declaration: the body of a webhook answer.
    pub fn to_xml(&self) -> String {
        format!("{XML_DECLARATION}{}", self.to_fragment())
    }

    /// `<Response>…</Response>` alone: the `Twiml` of a REST call (no declaration, fewer of the
    /// 4,000 characters Twilio allows).
    pub fn to_fragment(&self) -> String {
        let mut out = String::from("<Response>");
        for verb in &self.verbs {
            write_verb(&mut out, verb);
        }
        out.push_str("</Response>");
        out
    }
}

fn attr(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        // Writing to a String cannot fail.
        let _ = write!(out, r#" {name}="{}""#, escape(value));
    }
}

fn write_verb(out: &mut String, verb: &Verb) {
    match verb {
        Verb::Say(say) => {
            out.push_str("<Say");
            attr(out, "voice", say.voice.as_deref());
            attr(out, "language", say.language.as_deref());
            out.push('>');
            out.push_str(&escape(&say.text));
            out.push_str("</Say>");
        }
        Verb::Dial(dial) => {
            out.push_str("<Dial");
            attr(out, "callerId", dial.caller_id.as_deref());
            let timeout = dial.timeout_secs.map(|t| t.to_string());
            attr(out, "timeout", timeout.as_deref());
            attr(out, "action", dial.action.as_deref());
            out.push('>');
            out.push_str(&escape(&dial.number));
            out.push_str("</Dial>");
        }
        Verb::ConnectStream(stream) => {
            out.push_str("<Connect><Stream");
            attr(out, "url", Some(&stream.url));
            attr(out, "name", stream.name.as_deref());
            if stream.parameters.is_empty() {
                out.push_str("/></Connect>");
                return;
            }
            out.push('>');
            for (name, value) in &stream.parameters {
                out.push_str("<Parameter");
                attr(out, "name", Some(name));
                attr(out, "value", Some(value));
                out.push_str("/>");
            }
            out.push_str("</Stream></Connect>");
        }
        Verb::Pause(length) => {
            out.push_str("<Pause");
            let length = length.map(|l| l.to_string());
            attr(out, "length", length.as_deref());
            out.push_str("/>");
        }
        Verb::Hangup => out.push_str("<Hangup/>"),
    }
}

impl std::fmt::Display for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_xml())
    }
}
