//! The live platforms and the routes a reply can take on each (ARCHITECTURE.md §4).
//!
//! Owns: [`LivePlatform`], [`Route`] and the per-platform route mapping, a session's
//! [`LiveSessionStatus`] and an interaction's [`InteractionOutcome`], and [`YoutubeCall`] for
//! quota accounting. Must not: check budgets (see [`super::limits`]).

use crate::channel::Channel;

named_enum! {
    /// The live platforms the agent chats on; each has its own reply routes and budgets.
    pub enum LivePlatform("live platform") {
        /// YouTube Live chat: public messages only, each insert costs quota units.
        Youtube => "YOUTUBE",
        /// Twitch IRC chat: free public messages; whispers are capped per day.
        Twitch => "TWITCH",
        /// TikTok Live: comments are read-only for us, answers go by DM.
        Tiktok => "TIKTOK",
    }
}

impl LivePlatform {
    /// The live platform of a channel, if the channel streams live.
    pub fn from_channel(channel: Channel) -> Option<Self> {
        match channel {
            Channel::Youtube => Some(LivePlatform::Youtube),
            Channel::Twitch => Some(LivePlatform::Twitch),
            Channel::Tiktok => Some(LivePlatform::Tiktok),
            _ => None,
        }
    }

    /// The channel this platform's leads and messages belong to.
    pub fn channel(self) -> Channel {
        match self {
            LivePlatform::Youtube => Channel::Youtube,
            LivePlatform::Twitch => Channel::Twitch,
            LivePlatform::Tiktok => Channel::Tiktok,
        }
    }

    /// The route a reply actually takes here, given the session's preference. A preference is a
    /// session-wide setting while each platform offers only some routes, so it is mapped instead
    /// of refused: YouTube can only post in chat (Public); Twitch's private route is the whisper
    /// (Whisper or Dm → Whisper); TikTok's API cannot post live comments, so always Dm.
    pub fn route_for(self, preferred: Route) -> Route {
        match self {
            LivePlatform::Youtube => Route::Public,
            LivePlatform::Twitch => match preferred {
                Route::Public => Route::Public,
                Route::Whisper | Route::Dm => Route::Whisper,
            },
            LivePlatform::Tiktok => Route::Dm,
        }
    }
}

named_enum! {
    /// How a reply reaches the viewer.
    pub enum Route("reply route") {
        /// A message in the stream's public chat, seen by every viewer.
        Public => "PUBLIC",
        /// A Twitch whisper (private, [`super::LiveLimits::whispers_per_day`]).
        Whisper => "WHISPER",
        /// A direct message (TikTok; its window and per-user limit are [`crate::messaging`]'s).
        Dm => "DM",
    }
}

named_enum! {
    /// Whether a live session's chat is being read.
    pub enum LiveSessionStatus("live session status") {
        /// The chat is being read.
        Active => "ACTIVE",
        /// Stopped by the creator, at the chat's end, or out of quota.
        Stopped => "STOPPED",
    }
}

named_enum! {
    /// What the agent did with one live chat message.
    pub enum InteractionOutcome("interaction outcome") {
        /// Stored and analysed; no decision yet.
        Received => "RECEIVED",
        /// The agent answered.
        Replied => "REPLIED",
        /// The agent stayed silent (the skip reason says why).
        Skipped => "SKIPPED",
        /// The reply could not be sent (the skip reason holds the send error).
        Failed => "FAILED",
    }
}

/// A YouTube Data API call the live agent makes, for quota accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YoutubeCall {
    /// `liveChatMessages.list` (polling the chat).
    List,
    /// `liveChatMessages.insert` (posting a reply).
    Insert,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_and_route_names_and_channels() {
        for p in LivePlatform::ALL {
            assert_eq!(LivePlatform::from_channel(p.channel()), Some(p));
            let json = serde_json::to_string(&p).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert_eq!(LivePlatform::from_channel(Channel::Whatsapp), None);
        for r in [Route::Public, Route::Whisper, Route::Dm] {
            let json = serde_json::to_string(&r).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
    }
}
