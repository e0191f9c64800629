//! The inputs of a tenant's channel connections and their checks: secrets bounded, a WhatsApp
//! template named the way WhatsApp names them, and each live platform's settings in that
//! platform's own shape, so a typo fails here and not at the first message.
//!
//! Must not: store anything (the resolvers in `graphql::catalog` call the store).

use super::*;

/// Longest secret or token accepted (platform tokens are long but bounded).
pub(super) const MAX_SECRET_CHARS: usize = 4096;

/// Input of `upsertChannelConnection`: creates the tenant's connection for `channel`, or updates
/// it. Omitted fields stay as they are; an empty string clears a secret.
#[derive(InputObject)]
pub struct UpsertChannelConnectionInput {
    /// The channel.
    pub channel: Channel,
    /// The platform's id for the tenant's account (WhatsApp phone number id, page id, …).
    pub external_account_id: Option<String>,
    /// Token the platform echoes on webhook verification (write-only).
    pub verify_token: Option<String>,
    /// App secret used to verify webhook signatures (write-only).
    pub app_secret: Option<String>,
    /// Client secret (TikTok signatures, OAuth) (write-only).
    pub client_secret: Option<String>,
    /// Access token for sending (write-only).
    pub access_token: Option<String>,
    /// Whether the AI answers on this channel.
    pub ai_enabled: Option<bool>,
    /// Switch the connection on or off.
    pub status: Option<ConnectionStatus>,
    /// TikTok: also accept the legacy `X-Tiktok-Signature` scheme (its timestamp must be
    /// within 5 minutes, like the current scheme's).
    pub legacy_signature: Option<bool>,
    /// The account id the platform's webhooks name when it differs from `externalAccountId`:
    /// TikTok's `user_openid` of the business account, or a WhatsApp Business Account id.
    /// Deliveries verified by the operator's shared secret (no `appSecret`/`clientSecret` of
    /// the connection's own) are accepted only for these account ids. Empty clears it.
    pub webhook_account_id: Option<String>,
    /// WhatsApp only: the approved message template sent instead of a reply once 24 h have
    /// passed since the customer's last message. `null` removes it; omitted keeps it.
    pub whatsapp_template: MaybeUndefined<WhatsAppTemplateInput>,
    /// YouTube only: your own Data API key, for reading public live chats (write-only). With
    /// your own YouTube credentials (this and/or `accessToken`, the OAuth token of the channel
    /// the agent posts as) your live sessions use them instead of the operator's, and spend
    /// your project's quota. An empty string clears it.
    pub api_key: Option<String>,
    /// YouTube only: the Google project your credentials belong to (letters, digits, `-`, `_`,
    /// `.`; at most 100). Quota is counted per project; default `default`.
    pub project_name: Option<String>,
    /// Twitch only: the login of your own bot account. With it and `accessToken` (the bot's
    /// user token: `chat:read chat:edit user:manage:whispers`) your live sessions chat and
    /// whisper as your bot and spend its daily whispers, not the operator's.
    pub bot_login: Option<String>,
    /// Twitch only: your app's client id (needed for whispers and Helix sends).
    pub client_id: Option<String>,
    /// TikTok only: your own token for the TikTok LIVE wrapper (write-only); your LIVE sessions
    /// then poll with it instead of the operator's.
    pub live_access_token: Option<String>,
}

/// An approved WhatsApp message template (as named in WhatsApp Business Manager).
#[derive(InputObject)]
pub struct WhatsAppTemplateInput {
    /// The template's name: lower-case letters, digits and underscores, at most 512.
    pub name: String,
    /// The approved translation's language code, e.g. `en` or `en_US`.
    pub language_code: String,
}

/// Checks a template the way WhatsApp names them, so a typo is refused here rather than by
/// WhatsApp (error 132001) at the first message outside the window.
pub(super) fn whatsapp_template(
    input: WhatsAppTemplateInput,
) -> Result<crate::store::WhatsAppTemplate, ApiError> {
    let name = input.name.trim().to_owned();
    let name_ok = (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !name_ok {
        return Err(ApiError::bad_input(
            "whatsappTemplate.name",
            "1 to 512 lower-case letters, digits or underscores, e.g. order_update",
        ));
    }
    let language = input.language_code.trim().to_owned();
    let (lang, region) = match language.split_once('_') {
        Some((lang, region)) => (lang, Some(region)),
        None => (language.as_str(), None),
    };
    let language_ok = (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| {
            (2..=3).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_uppercase())
        });
    if !language_ok {
        return Err(ApiError::bad_input(
            "whatsappTemplate.languageCode",
            "a language code like en or en_US",
        ));
    }
    Ok(crate::store::WhatsAppTemplate {
        name,
        language_code: language,
    })
}

/// Checks the non-secret parts of a live connection: each only on its channel, each in the
/// platform's own shape (so a typo fails here, not at the first reply), empty clears.
pub(super) fn live_settings(
    channel: Channel,
    project_name: Option<String>,
    bot_login: Option<String>,
    client_id: Option<String>,
) -> Result<crate::store::LiveConnectionSettings, ApiError> {
    fn checked(
        value: Option<String>,
        field: &str,
        wanted: Channel,
        channel: Channel,
        valid: impl Fn(&str) -> bool,
        shape: &str,
    ) -> Result<Option<String>, ApiError> {
        let Some(value) = value.map(|v| v.trim().to_owned()) else {
            return Ok(None);
        };
        if channel != wanted {
            return Err(ApiError::bad_input(
                field,
                format!(
                    "only {} connections have it",
                    leadline_domain::channel::Channel::from(wanted)
                ),
            ));
        }
        if !value.is_empty() && !valid(&value) {
            return Err(ApiError::bad_input(field, shape.to_owned()));
        }
        Ok(Some(value))
    }
    let project = |v: &str| {
        v.len() <= 100
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    // Twitch logins: 3–25 letters, digits or underscores (stored lower-case, as IRC uses them).
    let login = |v: &str| {
        (3..=25).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let client = |v: &str| v.len() <= 100 && v.bytes().all(|b| b.is_ascii_alphanumeric());
    Ok(crate::store::LiveConnectionSettings {
        youtube_project: checked(
            project_name,
            "projectName",
            Channel::Youtube,
            channel,
            project,
            "the Google project: at most 100 letters, digits, '-', '_' or '.'",
        )?,
        twitch_bot_login: checked(
            bot_login,
            "botLogin",
            Channel::Twitch,
            channel,
            login,
            "a Twitch login: 3–25 letters, digits or underscores",
        )?
        .map(|l| l.to_ascii_lowercase()),
        twitch_client_id: checked(
            client_id,
            "clientId",
            Channel::Twitch,
            channel,
            client,
            "a Twitch client id: at most 100 letters or digits",
        )?,
    })
}

/// Result of `upsertChannelConnection`.
#[derive(SimpleObject)]
pub struct UpsertChannelConnectionPayload {
    /// The connection after the change.
    pub connection: ChannelConnection,
    /// True when it was created by this call.
    pub created: bool,
}

/// Input of `deleteChannelConnection`.
#[derive(InputObject)]
pub struct DeleteChannelConnectionInput {
    /// The connection id.
    pub id: ID,
}
