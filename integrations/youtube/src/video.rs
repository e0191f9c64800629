//! `VideoId`: the 11-character id of a YouTube video, parsed from a bare id or any of the URL
//! forms people paste (parse, don't validate: once you hold a `VideoId` it is well formed).
//!
//! Accepted: `dQw4w9WgXcQ`; `youtube.com/watch?v=ID` (any `www.`/`m.`/`music.`/`gaming.`
//! subdomain, http or https or no scheme, `v` anywhere in the query, extra parameters and
//! fragments ignored); `youtu.be/ID`; `youtube.com/{live,shorts,embed,v,e}/ID`;
//! `youtube-nocookie.com/embed/ID`. Refused with a typed reason: other hosts, channel and
//! playlist pages, and ids that are not exactly 11 characters of `[A-Za-z0-9_-]`.
//! This module does no IO.

use std::fmt;

/// Why a string is not a YouTube video reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidVideoRef {
    /// Nothing was given.
    #[error("no video id or URL was given")]
    Empty,
    /// A URL whose host is not YouTube's.
    #[error("`{0}` is not a YouTube host")]
    ForeignHost(String),
    /// A YouTube URL that names no video (a channel, a playlist, the home page...).
    #[error("the YouTube URL names no video")]
    NoVideoInUrl,
    /// The candidate id is not 11 characters of `[A-Za-z0-9_-]`.
    #[error("`{0}` is not a YouTube video id")]
    MalformedId(String),
}

/// A well-formed YouTube video id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VideoId(String);

/// Path prefixes (`/<prefix>/<id>`) that name a video on youtube.com.
const PATH_FORMS: &[&str] = &["live", "shorts", "embed", "v", "e"];

impl VideoId {
    /// Parses a bare id or a URL in any form listed in the module docs.
    pub fn parse(input: &str) -> Result<Self, InvalidVideoRef> {
        let input = input.trim();
        if input.is_empty() {
            return Err(InvalidVideoRef::Empty);
        }
        if is_video_id(input) {
            return Ok(VideoId(input.to_owned()));
        }
        if !input.contains('/') && !input.contains('.') {
            return Err(InvalidVideoRef::MalformedId(truncate(input)));
        }
        // Pasted links often lack a scheme ("youtu.be/ID", "www.youtube.com/watch?v=ID").
        let with_scheme = if input.contains("://") {
            input.to_owned()
        } else {
            format!("https://{input}")
        };
        let url = reqwest::Url::parse(&with_scheme)
            .map_err(|_| InvalidVideoRef::MalformedId(truncate(input)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidVideoRef::ForeignHost(url.scheme().to_owned()));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|seg| !seg.is_empty()).collect())
            .unwrap_or_default();
        let candidate = if host == "youtu.be" || host == "www.youtu.be" {
            segments.first().map(|s| (*s).to_owned())
        } else if is_youtube_host(&host) {
            match segments.as_slice() {
                ["watch", ..] => url
                    .query_pairs()
                    .find(|(key, _)| key == "v")
                    .map(|(_, value)| value.into_owned()),
                [form, id, ..] if PATH_FORMS.contains(form) => Some((*id).to_owned()),
                _ => None,
            }
        } else {
            return Err(InvalidVideoRef::ForeignHost(host));
        };
        let candidate = candidate.ok_or(InvalidVideoRef::NoVideoInUrl)?;
        if is_video_id(&candidate) {
            Ok(VideoId(candidate))
        } else {
            Err(InvalidVideoRef::MalformedId(truncate(&candidate)))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VideoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for VideoId {
    type Err = InvalidVideoRef;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VideoId::parse(s)
    }
}

/// youtube.com, its subdomains (www, m, music, gaming) and youtube-nocookie.com.
fn is_youtube_host(host: &str) -> bool {
    ["youtube.com", "youtube-nocookie.com"]
        .iter()
        .any(|root| host == *root || host.ends_with(&format!(".{root}")))
}

/// Exactly 11 characters of YouTube's id alphabet.
fn is_video_id(s: &str) -> bool {
    s.len() == 11
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Keeps error messages short when someone pastes a novel.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const ID: &str = "dQw4w9WgXcQ";

    #[test]
    fn every_common_url_form_yields_the_id() {
        let forms = [
            "dQw4w9WgXcQ",
            "  dQw4w9WgXcQ\n",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s",
            "http://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDdQw4w9WgXcQ",
            "www.youtube.com/watch?v=dQw4w9WgXcQ#comments",
            "youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ?si=abcDEF&t=10",
            "youtu.be/dQw4w9WgXcQ",
            "https://www.youtube.com/live/dQw4w9WgXcQ?si=xyz",
            "https://www.youtube.com/live/dQw4w9WgXcQ/",
            "https://youtube.com/shorts/dQw4w9WgXcQ?feature=share",
            "https://www.youtube.com/embed/dQw4w9WgXcQ?autoplay=1",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
            "https://www.youtube.com/v/dQw4w9WgXcQ",
            "https://WWW.YOUTUBE.COM/watch?v=dQw4w9WgXcQ",
        ];
        for form in forms {
            assert_eq!(
                VideoId::parse(form).map(|id| id.to_string()),
                Ok(ID.to_owned()),
                "{form}"
            );
        }
    }

    #[test]
    fn garbage_is_refused_with_a_typed_reason() {
        let cases = [
            ("", InvalidVideoRef::Empty),
            ("   ", InvalidVideoRef::Empty),
            ("hello", InvalidVideoRef::MalformedId("hello".into())),
            (
                "dQw4w9WgXcQQ",
                InvalidVideoRef::MalformedId("dQw4w9WgXcQQ".into()),
            ),
            (
                "dQw4w9WgX!Q",
                InvalidVideoRef::MalformedId("dQw4w9WgX!Q".into()),
            ),
            (
                "https://vimeo.com/watch?v=dQw4w9WgXcQ",
                InvalidVideoRef::ForeignHost("vimeo.com".into()),
            ),
            (
                "https://notyoutube.com/watch?v=dQw4w9WgXcQ",
                InvalidVideoRef::ForeignHost("notyoutube.com".into()),
            ),
            (
                "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
                InvalidVideoRef::ForeignHost("youtube.com.evil.example".into()),
            ),
            (
                "https://www.youtube.com/@somechannel",
                InvalidVideoRef::NoVideoInUrl,
            ),
            (
                "https://www.youtube.com/channel/UCxyz",
                InvalidVideoRef::NoVideoInUrl,
            ),
            (
                "https://www.youtube.com/playlist?list=PL123",
                InvalidVideoRef::NoVideoInUrl,
            ),
            (
                "https://www.youtube.com/watch?list=PL123",
                InvalidVideoRef::NoVideoInUrl,
            ),
            ("https://youtu.be/", InvalidVideoRef::NoVideoInUrl),
            (
                "https://www.youtube.com/watch?v=short",
                InvalidVideoRef::MalformedId("short".into()),
            ),
            (
                "ftp://youtube.com/watch?v=dQw4w9WgXcQ",
                InvalidVideoRef::ForeignHost("ftp".into()),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(VideoId::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn ids_keep_their_case_and_punctuation() {
        let id: VideoId = "https://youtu.be/a-_B9zZ0x1Y".parse().unwrap();
        assert_eq!(id.as_str(), "a-_B9zZ0x1Y");
    }
}
