//! IRCv3 lines as Twitch chat speaks them (platforms.md §2.1): a parser and a writer for
//! `[@tags] [:prefix] COMMAND [params] [:trailing]`, tag-value escaping, and the Twitch view of a
//! `PRIVMSG` ([`ChatMessage`]).
//!
//! Pure: no IO. The parser is lenient where IRC servers are (repeated spaces, a missing `\r\n`,
//! valueless tags) and strict where a wrong guess would mislead (no command, a bad prefix). One
//! WebSocket frame may carry several lines; [`lines`] splits them.

use std::fmt;

/// Why a line is not an IRC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IrcParseError {
    /// Nothing but whitespace.
    #[error("empty line")]
    Empty,
    /// Tags or a prefix with nothing after them.
    #[error("no command")]
    MissingCommand,
    /// The command is not letters or a three-digit numeric.
    #[error("invalid command `{0}`")]
    InvalidCommand(String),
}

/// One IRC message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IrcMessage {
    /// IRCv3 tags in line order, values unescaped (a valueless tag has an empty value).
    pub tags: Vec<(String, String)>,
    /// The source without the leading `:` (`nick!user@host` or a server name).
    pub prefix: Option<String>,
    /// The command as sent (`PRIVMSG`, `001`, ...).
    pub command: String,
    /// Middle parameters, then the trailing one (if any) as the last element.
    pub params: Vec<String>,
}

impl IrcMessage {
    /// A message with no tags or prefix.
    pub fn new(command: &str, params: &[&str]) -> Self {
        Self {
            tags: Vec::new(),
            prefix: None,
            command: command.to_owned(),
            params: params.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// Adds a tag (builder style).
    pub fn with_tag(mut self, key: &str, value: &str) -> Self {
        self.tags.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Sets the prefix (builder style).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Some(prefix.to_owned());
        self
    }

    /// Parses one line (a trailing `\r\n` or `\n` is ignored).
    pub fn parse(line: &str) -> Result<Self, IrcParseError> {
        let mut rest = line.trim_end_matches(['\r', '\n']).trim_start_matches(' ');
        if rest.is_empty() {
            return Err(IrcParseError::Empty);
        }
        let mut message = IrcMessage::default();
        if let Some(after) = rest.strip_prefix('@') {
            let (raw_tags, tail) = after.split_once(' ').unwrap_or((after, ""));
            message.tags = raw_tags
                .split(';')
                .filter(|t| !t.is_empty())
                .map(|tag| match tag.split_once('=') {
                    Some((key, value)) => (key.to_owned(), unescape_tag_value(value)),
                    None => (tag.to_owned(), String::new()),
                })
                .collect();
            rest = tail.trim_start_matches(' ');
        }
        if let Some(after) = rest.strip_prefix(':') {
            let (prefix, tail) = after.split_once(' ').unwrap_or((after, ""));
            message.prefix = Some(prefix.to_owned());
            rest = tail.trim_start_matches(' ');
        }
        let (command, mut params) = rest.split_once(' ').unwrap_or((rest, ""));
        if command.is_empty() {
            return Err(IrcParseError::MissingCommand);
        }
        let numeric = command.len() == 3 && command.bytes().all(|b| b.is_ascii_digit());
        if !numeric && !command.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(IrcParseError::InvalidCommand(
                command.chars().take(32).collect(),
            ));
        }
        message.command = command.to_owned();
        loop {
            params = params.trim_start_matches(' ');
            if params.is_empty() {
                break;
            }
            if let Some(trailing) = params.strip_prefix(':') {
                message.params.push(trailing.to_owned());
                break;
            }
            let (param, tail) = params.split_once(' ').unwrap_or((params, ""));
            message.params.push(param.to_owned());
            params = tail;
        }
        Ok(message)
    }

    /// The first value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The nick of a `nick!user@host` prefix (or the whole prefix when it has no `!`).
    pub fn nick(&self) -> Option<&str> {
        let prefix = self.prefix.as_deref()?;
        Some(prefix.split_once('!').map_or(prefix, |(nick, _)| nick))
    }

    /// The `i`th parameter.
    pub fn param(&self, i: usize) -> Option<&str> {
        self.params.get(i).map(String::as_str)
    }

    /// The last parameter (the trailing one when there is one).
    pub fn trailing(&self) -> Option<&str> {
        self.params.last().map(String::as_str)
    }

    /// The line without `\r\n`. The last parameter is written as trailing (`:…`) when it must be
    /// (empty, has a space, starts with `:`) and for PRIVMSG-like commands by habit. Callers must
    /// not put `\r`/`\n` in parameters (`chat` strips them from user text).
    pub fn to_line(&self) -> String {
        let mut line = String::new();
        if !self.tags.is_empty() {
            line.push('@');
            for (i, (key, value)) in self.tags.iter().enumerate() {
                if i > 0 {
                    line.push(';');
                }
                line.push_str(key);
                line.push('=');
                line.push_str(&escape_tag_value(value));
            }
            line.push(' ');
        }
        if let Some(prefix) = &self.prefix {
            line.push(':');
            line.push_str(prefix);
            line.push(' ');
        }
        line.push_str(&self.command);
        let count = self.params.len();
        for (i, param) in self.params.iter().enumerate() {
            line.push(' ');
            let last = i + 1 == count;
            if last
                && (param.is_empty()
                    || param.contains(' ')
                    || param.starts_with(':')
                    || matches!(
                        self.command.as_str(),
                        "PRIVMSG" | "NOTICE" | "PONG" | "PING"
                    ))
            {
                line.push(':');
            }
            line.push_str(param);
        }
        line
    }
}

impl fmt::Display for IrcMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_line())
    }
}

/// The non-empty lines of one WebSocket frame (`\r\n`-separated; a bare `\n` is tolerated).
pub fn lines(frame: &str) -> impl Iterator<Item = &str> {
    frame
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
}

/// IRCv3 tag-value unescaping: `\:` → `;`, `\s` → space, `\\` → `\`, `\r` → CR, `\n` → LF; a
/// backslash before any other character is dropped, and a lone trailing backslash vanishes.
pub fn unescape_tag_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('\\') => out.push('\\'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The inverse of [`unescape_tag_value`].
pub fn escape_tag_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            ';' => out.push_str("\\:"),
            ' ' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out
}

/// One chat badge (`moderator/1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// Set name (`moderator`, `subscriber`, `broadcaster`, `vip`, ...).
    pub name: String,
    /// Version (`1`, months for subscriber...).
    pub version: String,
}

/// A viewer's chat line: a `PRIVMSG` read through Twitch's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// The message id (tag `id`): dedupe on it, reply with it.
    pub id: String,
    /// The channel login, without `#`.
    pub channel: String,
    /// The sender's login (from the prefix).
    pub login: String,
    /// Tag `display-name` (falls back to the login when empty).
    pub display_name: String,
    /// Tag `user-id`: the stable viewer identity.
    pub user_id: String,
    /// The text (without the `/me` wrapper).
    pub text: String,
    /// A `/me` action (`\x01ACTION …\x01`).
    pub is_action: bool,
    /// Tag `badges`.
    pub badges: Vec<Badge>,
    /// Tag `mod=1` or a moderator badge.
    pub is_moderator: bool,
    /// Tag `subscriber=1` or a subscriber badge.
    pub is_subscriber: bool,
    /// The broadcaster badge.
    pub is_broadcaster: bool,
    /// Tag `first-msg=1`: the viewer's first message in this channel.
    pub is_first_message: bool,
    /// Tag `returning-chatter=1`.
    pub is_returning_chatter: bool,
    /// Tag `bits` (a cheer).
    pub bits: Option<u64>,
    /// Tag `reply-parent-msg-id`.
    pub reply_parent_message_id: Option<String>,
    /// Tag `room-id` (the broadcaster's user id).
    pub room_id: Option<String>,
    /// Tag `tmi-sent-ts` (Unix milliseconds).
    pub sent_at_ms: Option<i64>,
}

impl ChatMessage {
    /// Reads a `PRIVMSG`; `None` for any other command or a PRIVMSG without channel and text.
    pub fn from_irc(message: &IrcMessage) -> Option<Self> {
        if message.command != "PRIVMSG" || message.params.len() < 2 {
            return None;
        }
        let channel = message.params[0].trim_start_matches('#').to_owned();
        let raw_text = message.params[message.params.len() - 1].as_str();
        let (text, is_action) = match raw_text
            .strip_prefix("\u{1}ACTION ")
            .map(|t| t.strip_suffix('\u{1}').unwrap_or(t))
        {
            Some(action) => (action.to_owned(), true),
            None => (raw_text.to_owned(), false),
        };
        let login = message.nick().unwrap_or_default().to_owned();
        let flag = |key: &str| message.tag(key) == Some("1");
        let badges: Vec<Badge> = message
            .tag("badges")
            .unwrap_or_default()
            .split(',')
            .filter(|b| !b.is_empty())
            .map(|b| {
                let (name, version) = b.split_once('/').unwrap_or((b, ""));
                Badge {
                    name: name.to_owned(),
                    version: version.to_owned(),
                }
            })
            .collect();
        let has_badge = |name: &str| badges.iter().any(|b| b.name == name);
        let display_name = match message.tag("display-name") {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => login.clone(),
        };
        Some(ChatMessage {
            id: message.tag("id").unwrap_or_default().to_owned(),
            channel,
            display_name,
            user_id: message.tag("user-id").unwrap_or_default().to_owned(),
            text,
            is_action,
            is_moderator: flag("mod") || has_badge("moderator"),
            is_subscriber: flag("subscriber") || has_badge("subscriber"),
            is_broadcaster: has_badge("broadcaster"),
            is_first_message: flag("first-msg"),
            is_returning_chatter: flag("returning-chatter"),
            bits: message.tag("bits").and_then(|b| b.parse().ok()),
            reply_parent_message_id: message
                .tag("reply-parent-msg-id")
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            room_id: message.tag("room-id").map(str::to_owned),
            sent_at_ms: message.tag("tmi-sent-ts").and_then(|t| t.parse().ok()),
            badges,
            login,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The real PRIVMSG line of platforms.md §2.1.
    const REAL: &str = "@badge-info=subscriber/22;badges=moderator/1,subscriber/12;color=#19E6E6;display-name=randers;emotes=;flags=;id=f9c5774b-faa7-4378-b1af-c4e08b532dc2;mod=1;room-id=11148817;subscriber=1;tmi-sent-ts=1594556065407;turbo=0;user-id=40286300;user-type=mod :randers!randers@randers.tmi.twitch.tv PRIVMSG #pajlada :Kappa Keepo\r\n";

    #[test]
    fn the_documented_privmsg_parses_into_its_parts_and_tags() {
        let message = IrcMessage::parse(REAL).unwrap();
        assert_eq!(message.command, "PRIVMSG");
        assert_eq!(
            message.prefix.as_deref(),
            Some("randers!randers@randers.tmi.twitch.tv")
        );
        assert_eq!(message.nick(), Some("randers"));
        assert_eq!(message.params, ["#pajlada", "Kappa Keepo"]);
        assert_eq!(message.tags.len(), 14);
        assert_eq!(message.tag("emotes"), Some(""));
        assert_eq!(message.tag("color"), Some("#19E6E6"));

        let chat = ChatMessage::from_irc(&message).unwrap();
        assert_eq!(chat.id, "f9c5774b-faa7-4378-b1af-c4e08b532dc2");
        assert_eq!(chat.channel, "pajlada");
        assert_eq!(chat.login, "randers");
        assert_eq!(chat.display_name, "randers");
        assert_eq!(chat.user_id, "40286300");
        assert_eq!(chat.text, "Kappa Keepo");
        assert_eq!(
            chat.badges,
            vec![
                Badge {
                    name: "moderator".into(),
                    version: "1".into()
                },
                Badge {
                    name: "subscriber".into(),
                    version: "12".into()
                }
            ]
        );
        assert!(chat.is_moderator && chat.is_subscriber);
        assert!(!chat.is_broadcaster && !chat.is_first_message && !chat.is_action);
        assert_eq!(chat.room_id.as_deref(), Some("11148817"));
        assert_eq!(chat.sent_at_ms, Some(1_594_556_065_407));
    }

    #[test]
    fn table_of_lines() {
        let cases: Vec<(&str, Option<&str>, &str, Vec<&str>)> = vec![
            ("PING :tmi.twitch.tv", None, "PING", vec!["tmi.twitch.tv"]),
            (
                ":tmi.twitch.tv RECONNECT",
                Some("tmi.twitch.tv"),
                "RECONNECT",
                vec![],
            ),
            (
                ":tmi.twitch.tv 001 bot :Welcome, GLHF!",
                Some("tmi.twitch.tv"),
                "001",
                vec!["bot", "Welcome, GLHF!"],
            ),
            (
                ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands",
                Some("tmi.twitch.tv"),
                "CAP",
                vec!["*", "ACK", "twitch.tv/tags twitch.tv/commands"],
            ),
            (
                ":bot!bot@bot.tmi.twitch.tv JOIN #chan",
                Some("bot!bot@bot.tmi.twitch.tv"),
                "JOIN",
                vec!["#chan"],
            ),
            (
                ":tmi.twitch.tv NOTICE * :Login authentication failed",
                Some("tmi.twitch.tv"),
                "NOTICE",
                vec!["*", "Login authentication failed"],
            ),
            // Repeated spaces, an empty trailing, a trailing that starts with ':'.
            ("PRIVMSG   #c   :", None, "PRIVMSG", vec!["#c", ""]),
            ("PRIVMSG #c ::)", None, "PRIVMSG", vec!["#c", ":)"]),
            ("CAP REQ :a b", None, "CAP", vec!["REQ", "a b"]),
        ];
        for (line, prefix, command, params) in cases {
            let message = IrcMessage::parse(line).unwrap();
            assert_eq!(message.prefix.as_deref(), prefix, "{line}");
            assert_eq!(message.command, command, "{line}");
            assert_eq!(message.params, params, "{line}");
        }
        assert_eq!(IrcMessage::parse("  \r\n"), Err(IrcParseError::Empty));
        assert_eq!(
            IrcMessage::parse("@a=b :prefix"),
            Err(IrcParseError::MissingCommand)
        );
        assert_eq!(
            IrcMessage::parse("PRIV-MSG x"),
            Err(IrcParseError::InvalidCommand("PRIV-MSG".into()))
        );
        assert_eq!(
            IrcMessage::parse("1234 x"),
            Err(IrcParseError::InvalidCommand("1234".into()))
        );
    }

    #[test]
    fn tag_values_are_unescaped_per_ircv3() {
        let message = IrcMessage::parse(
            r"@system-msg=5\sgift\ssubs\:\sthanks!;path=C:\\x;cr=a\rb\nc;odd=\q;end=x\;flag :u!u@u PRIVMSG #c :hi",
        )
        .unwrap();
        assert_eq!(message.tag("system-msg"), Some("5 gift subs; thanks!"));
        assert_eq!(message.tag("path"), Some(r"C:\x"));
        assert_eq!(message.tag("cr"), Some("a\rb\nc"));
        assert_eq!(
            message.tag("odd"),
            Some("q"),
            "unknown escape drops the backslash"
        );
        assert_eq!(
            message.tag("end"),
            Some("x"),
            "a lone trailing backslash vanishes"
        );
        assert_eq!(message.tag("flag"), Some(""), "a valueless tag is empty");
    }

    #[test]
    fn privmsg_tags_actions_replies_and_first_messages() {
        let line = "@badges=broadcaster/1;display-name=;first-msg=1;returning-chatter=0;id=m1;user-id=7;bits=100;reply-parent-msg-id=p9 :streamer!streamer@streamer.tmi.twitch.tv PRIVMSG #streamer :\u{1}ACTION waves\u{1}";
        let chat = ChatMessage::from_irc(&IrcMessage::parse(line).unwrap()).unwrap();
        assert!(chat.is_action);
        assert_eq!(chat.text, "waves");
        assert_eq!(
            chat.display_name, "streamer",
            "empty display-name falls back to login"
        );
        assert!(chat.is_broadcaster && chat.is_first_message && !chat.is_returning_chatter);
        assert!(!chat.is_moderator && !chat.is_subscriber);
        assert_eq!(chat.bits, Some(100));
        assert_eq!(chat.reply_parent_message_id.as_deref(), Some("p9"));
        assert!(ChatMessage::from_irc(&IrcMessage::parse("PING :x").unwrap()).is_none());
    }

    #[test]
    fn frames_split_into_lines() {
        let frame = ":tmi.twitch.tv 001 bot :Welcome\r\n:tmi.twitch.tv 002 bot :x\r\n\r\nPING :tmi.twitch.tv\n";
        assert_eq!(
            lines(frame).collect::<Vec<_>>(),
            vec![
                ":tmi.twitch.tv 001 bot :Welcome",
                ":tmi.twitch.tv 002 bot :x",
                "PING :tmi.twitch.tv"
            ]
        );
    }

    const ALPHABET: &[char] = &[
        'a', 'Z', '0', ' ', ';', ':', '\\', '\r', '\n', '=', '@', '!', '#', 's', 'é', '🙂', ',',
        '/',
    ];

    fn random_text(rng: &mut StdRng, max: usize) -> String {
        let len = rng.gen_range(0..=max);
        (0..len)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
            .collect()
    }

    fn random_word(rng: &mut StdRng, charset: &[u8], min: usize, max: usize) -> String {
        let len = rng.gen_range(min..=max);
        (0..len)
            .map(|_| charset[rng.gen_range(0..charset.len())] as char)
            .collect()
    }

    #[test]
    fn property_escaping_round_trips_any_value() {
        let mut rng = StdRng::seed_from_u64(0x1ec7);
        for _ in 0..2_000 {
            let value = random_text(&mut rng, 24);
            let escaped = escape_tag_value(&value);
            assert!(
                !escaped.contains([' ', ';', '\r', '\n']),
                "escaped value must fit in a tag: {escaped:?}"
            );
            assert_eq!(unescape_tag_value(&escaped), value);
        }
    }

    #[test]
    fn property_written_messages_parse_back_identically() {
        let mut rng = StdRng::seed_from_u64(0x7717c4);
        let key_chars = b"abcdefghijklmnopqrstuvwxyz-0123456789/.";
        let word_chars = b"abcdefghijklmnopqrstuvwxyzABCXYZ0123456789#*-_.!@";
        for _ in 0..2_000 {
            let tags = (0..rng.gen_range(0..5))
                .map(|_| {
                    (
                        random_word(&mut rng, key_chars, 1, 10),
                        random_text(&mut rng, 12)
                            .replace(['\r', '\n'], "")
                            .chars()
                            .chain(if rng.gen_bool(0.2) { Some('\n') } else { None })
                            .collect(),
                    )
                })
                .collect();
            let prefix = rng
                .gen_bool(0.6)
                .then(|| random_word(&mut rng, word_chars, 1, 20).replace('@', "!"))
                .filter(|p| !p.starts_with(':'));
            let command = if rng.gen_bool(0.3) {
                format!("{:03}", rng.gen_range(0..1000))
            } else {
                random_word(&mut rng, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 8)
            };
            let mut params: Vec<String> = (0..rng.gen_range(0..4))
                .map(|_| random_word(&mut rng, word_chars, 1, 8))
                .collect();
            if rng.gen_bool(0.7) {
                // The trailing parameter may hold anything but line breaks.
                params.push(random_text(&mut rng, 30).replace(['\r', '\n'], ""));
            }
            let message = IrcMessage {
                tags,
                prefix,
                command,
                params,
            };
            let line = message.to_line();
            assert!(!line.contains(['\r', '\n']), "{line:?}");
            assert_eq!(IrcMessage::parse(&line).as_ref(), Ok(&message), "{line:?}");
        }
    }
}
