//! Media Streams messages (platforms.md §6): the JSON text frames of the WebSocket a
//! `<Connect><Stream>` opens. Twilio is the client; the api's bridge is the server.
//!
//! Audio is raw G.711 μ-law, 8 kHz, mono, no header, base64 in `payload`; Twilio sends 20 ms
//! (160 byte) frames. The bridge relays audio without re-encoding it: [`Outbound::media_base64`]
//! re-wraps a base64 payload received from the other side as is, and
//! [`MediaPayload::decode`] / [`Outbound::media`] exist for tests and for anyone who needs the
//! bytes. Numbers are strings on the wire except `mediaFormat`'s, as Twilio sends them.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Bytes of μ-law audio in 20 ms at 8 kHz: one Twilio media frame.
pub const FRAME_BYTES: usize = 160;
/// Milliseconds of one frame.
pub const FRAME_MS: u64 = 20;
/// The only encoding Twilio streams.
pub const MULAW_ENCODING: &str = "audio/x-mulaw";

/// `mediaFormat` of `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFormat {
    /// `audio/x-mulaw`.
    pub encoding: String,
    /// 8000.
    pub sample_rate: u32,
    /// 1.
    pub channels: u32,
}

impl Default for MediaFormat {
    fn default() -> Self {
        MediaFormat {
            encoding: MULAW_ENCODING.to_owned(),
            sample_rate: 8000,
            channels: 1,
        }
    }
}

impl MediaFormat {
    /// Whether this is the μ-law 8 kHz mono the bridge relays untouched.
    pub fn is_mulaw_8k_mono(&self) -> bool {
        self.encoding == MULAW_ENCODING && self.sample_rate == 8000 && self.channels == 1
    }
}

/// The `start` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartInfo {
    /// `AC…`.
    #[serde(default)]
    pub account_sid: String,
    /// `MZ…`.
    #[serde(default)]
    pub stream_sid: String,
    /// `CA…`.
    #[serde(default)]
    pub call_sid: String,
    /// `["inbound"]` for `<Connect><Stream>`.
    #[serde(default)]
    pub tracks: Vec<String>,
    /// The TwiML's `<Parameter>`s.
    #[serde(default)]
    pub custom_parameters: BTreeMap<String, String>,
    /// The audio format.
    #[serde(default)]
    pub media_format: MediaFormat,
}

/// The `media` object Twilio sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaPayload {
    /// `inbound` (the caller) or `outbound`.
    #[serde(default)]
    pub track: String,
    /// Frame counter, from "1".
    #[serde(default)]
    pub chunk: String,
    /// Milliseconds since the stream started.
    #[serde(default)]
    pub timestamp: String,
    /// base64 μ-law.
    pub payload: String,
}

impl MediaPayload {
    /// The μ-law bytes.
    pub fn decode(&self) -> Result<Vec<u8>, Error> {
        decode_payload(&self.payload)
    }
}

/// A `mark` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// The name given when it was sent.
    pub name: String,
}

/// The `stop` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopInfo {
    /// `AC…`.
    #[serde(default)]
    pub account_sid: String,
    /// `CA…`.
    #[serde(default)]
    pub call_sid: String,
}

/// The `dtmf` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dtmf {
    /// `inbound_track`.
    #[serde(default)]
    pub track: String,
    /// The key pressed.
    pub digit: String,
}

/// A message Twilio sends to the stream's server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Inbound {
    /// First message: the socket is up.
    Connected {
        /// `Call`.
        #[serde(default)]
        protocol: String,
        /// `1.0.0`.
        #[serde(default)]
        version: String,
    },
    /// Second message: the stream's metadata.
    #[serde(rename_all = "camelCase")]
    Start {
        /// Message counter.
        #[serde(default)]
        sequence_number: String,
        /// `MZ…`.
        stream_sid: String,
        /// Metadata.
        start: StartInfo,
    },
    /// A frame of the caller's audio.
    #[serde(rename_all = "camelCase")]
    Media {
        /// Message counter.
        #[serde(default)]
        sequence_number: String,
        /// `MZ…`.
        stream_sid: String,
        /// The audio.
        media: MediaPayload,
    },
    /// A mark the server sent, echoed back when its audio was played (or cleared).
    #[serde(rename_all = "camelCase")]
    Mark {
        /// Message counter.
        #[serde(default)]
        sequence_number: String,
        /// `MZ…`.
        stream_sid: String,
        /// The mark.
        mark: Mark,
    },
    /// A key press.
    #[serde(rename_all = "camelCase")]
    Dtmf {
        /// Message counter.
        #[serde(default)]
        sequence_number: String,
        /// `MZ…`.
        stream_sid: String,
        /// The key.
        dtmf: Dtmf,
    },
    /// Last message: the stream ended (hang-up, or new TwiML on the call).
    #[serde(rename_all = "camelCase")]
    Stop {
        /// Message counter.
        #[serde(default)]
        sequence_number: String,
        /// `MZ…`.
        stream_sid: String,
        /// Which call.
        #[serde(default)]
        stop: StopInfo,
    },
    /// An event this crate does not know yet: ignored, never an error.
    #[serde(other)]
    Unknown,
}

impl Inbound {
    /// Parses one text frame.
    pub fn parse(text: &str) -> Result<Inbound, Error> {
        serde_json::from_str(text).map_err(|e| Error::Decode(format!("media stream message: {e}")))
    }

    /// The frame's JSON.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs to a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The `media` object the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMedia {
    /// base64 μ-law 8 kHz.
    pub payload: String,
}

/// A message the stream's server sends to Twilio (bidirectional streams only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Outbound {
    /// Audio to play to the caller (queued after earlier audio).
    #[serde(rename_all = "camelCase")]
    Media {
        /// `MZ…`.
        stream_sid: String,
        /// The audio.
        media: OutboundMedia,
    },
    /// A mark after the audio sent so far: Twilio echoes it back once that audio was played.
    #[serde(rename_all = "camelCase")]
    Mark {
        /// `MZ…`.
        stream_sid: String,
        /// The mark.
        mark: Mark,
    },
    /// Drop the audio buffered but not yet played (barge-in).
    #[serde(rename_all = "camelCase")]
    Clear {
        /// `MZ…`.
        stream_sid: String,
    },
    /// An event Twilio would not know: kept so a fake can record it, never an error.
    #[serde(other)]
    Unknown,
}

impl Outbound {
    /// Audio from μ-law bytes.
    pub fn media(stream_sid: &str, mulaw: &[u8]) -> Outbound {
        Outbound::media_base64(stream_sid, encode_payload(mulaw))
    }

    /// Audio from an already base64 μ-law payload (another side's frame), re-wrapped without
    /// decoding or re-encoding it.
    pub fn media_base64(stream_sid: &str, payload: String) -> Outbound {
        Outbound::Media {
            stream_sid: stream_sid.to_owned(),
            media: OutboundMedia { payload },
        }
    }

    /// A mark named `name`.
    pub fn mark(stream_sid: &str, name: &str) -> Outbound {
        Outbound::Mark {
            stream_sid: stream_sid.to_owned(),
            mark: Mark {
                name: name.to_owned(),
            },
        }
    }

    /// A clear.
    pub fn clear(stream_sid: &str) -> Outbound {
        Outbound::Clear {
            stream_sid: stream_sid.to_owned(),
        }
    }

    /// Parses one text frame (what Twilio, or the fake, receives).
    pub fn parse(text: &str) -> Result<Outbound, Error> {
        serde_json::from_str(text).map_err(|e| Error::Decode(format!("media stream message: {e}")))
    }

    /// The frame's JSON.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs to a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// base64 (standard, padded) of μ-law bytes, as in `payload`.
pub fn encode_payload(mulaw: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mulaw)
}

/// The μ-law bytes of a `payload`.
pub fn decode_payload(payload: &str) -> Result<Vec<u8>, Error> {
    base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|e| Error::Decode(format!("media payload is not base64: {e}")))
}
