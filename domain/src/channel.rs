//! The channels Leadline talks on, with their stable wire names (SCREAMING_CASE, as in the
//! GraphQL enum and the database).

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A channel a tenant can connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    Whatsapp,
    Instagram,
    Facebook,
    Tiktok,
    Youtube,
    Twitch,
    WebChat,
    Twilio,
    Livekit,
}

impl Channel {
    /// Every channel, in declaration order.
    pub const ALL: [Channel; 9] = [
        Channel::Whatsapp,
        Channel::Instagram,
        Channel::Facebook,
        Channel::Tiktok,
        Channel::Youtube,
        Channel::Twitch,
        Channel::WebChat,
        Channel::Twilio,
        Channel::Livekit,
    ];

    /// The stable name stored in the database and used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "WHATSAPP",
            Channel::Instagram => "INSTAGRAM",
            Channel::Facebook => "FACEBOOK",
            Channel::Tiktok => "TIKTOK",
            Channel::Youtube => "YOUTUBE",
            Channel::Twitch => "TWITCH",
            Channel::WebChat => "WEB_CHAT",
            Channel::Twilio => "TWILIO",
            Channel::Livekit => "LIVEKIT",
        }
    }

    /// Whether a person's id on this channel is their phone number (WhatsApp's `wa_id`, a
    /// caller's number on Twilio), so a lead met there has that number as its phone.
    pub fn identity_is_phone(self) -> bool {
        matches!(self, Channel::Whatsapp | Channel::Twilio)
    }

    /// Parses the stable name (case-insensitive, `-` accepted for `_`).
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let wanted = value.trim().to_ascii_uppercase().replace('-', "_");
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == wanted)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "channel",
                value: value.to_owned(),
            })
    }
}

named_enum! {
    /// Whether a tenant's channel connection is in use.
    pub enum ConnectionStatus("connection status") {
        /// Receiving webhooks and sending.
        Connected => "CONNECTED",
        /// Kept but switched off: webhooks are refused.
        Disconnected => "DISCONNECTED",
        /// The platform rejected our credentials; fix them to reconnect.
        Error => "ERROR",
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_round_trips_through_its_name() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Ok(channel));
        }
        assert_eq!(Channel::parse("web-chat"), Ok(Channel::WebChat));
        assert!(Channel::parse("fax").is_err());
    }
}
