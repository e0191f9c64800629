//! Twilio webhooks (platforms.md §6): the single front door for verifying and parsing them.
//!
//! - algorithm: the full URL Twilio requested (as configured on the number or call: the api's
//!   public URL plus path and query, never the URL the proxy forwarded), then for a form POST
//!   each parameter sorted by name (repeated names: each value, values sorted) appended as
//!   `name + value`; `base64(HMAC-SHA1(auth token, that string))` must equal
//!   `X-Twilio-Signature`, compared in constant time;
//! - port variants: as Twilio's libraries do, the URL is tried as given, with the scheme's
//!   default port added (`:443`/`:80`) and with it removed, because Twilio signs whichever
//!   spelling it was configured with and a proxy may show either;
//! - JSON bodies: the signed URL carries `bodySHA256=<hex sha256(body)>`; the URL alone is signed
//!   and the raw body's hash is checked against it;
//! - no timestamp is signed, so there is no replay window: the caller deduplicates on `CallSid`
//!   + `CallStatus`/`SequenceNumber`.
//!
//! Only then is the form parsed into a [`VoiceWebhook`]; there is no way to parse without
//! verifying (CONVENTIONS.md: verification is mandatory).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, SignatureProblem};
use crate::models::VoiceWebhook;

/// The header carrying the signature (lower case, as `http` stores names).
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
/// The query parameter carrying a JSON body's SHA-256.
pub const BODY_SHA256_PARAM: &str = "bodySHA256";

/// `X-Twilio-Signature` for `url` and the decoded form `params` signed with `auth_token` (the
/// fake signs with it). Order of `params` does not matter.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD.encode(mac(auth_token, url, params))
}

/// hex SHA-256 of a JSON body, for `bodySHA256`.
pub fn body_sha256(raw_body: &[u8]) -> String {
    hex::encode(Sha256::digest(raw_body))
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Byte order of UTF-8 is code point order, which is what Twilio's libraries sort by.
    sorted.sort();
    // HMAC accepts keys of any length, so this never fails; an error would only mean a bug.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else {
        return Vec::new();
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

/// The spellings of `url` Twilio may have signed: as given, with the scheme's default port, and
/// without it. `None` when `url` is not an absolute `http(s)://` URL.
pub fn url_variants(url: &str) -> Option<Vec<String>> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // Credentials (`user:pass@host`) stay as they are; the port is after the host.
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    // An IPv6 literal (`[::1]:443`) has colons of its own before the `]`.
    let port_colon = match hostport.rfind(']') {
        Some(bracket) => hostport[bracket..].find(':').map(|i| bracket + i),
        None => hostport.rfind(':'),
    };
    let (host, port) = match port_colon {
        Some(colon) => (&hostport[..colon], Some(&hostport[colon + 1..])),
        None => (hostport, None),
    };
    if host.is_empty() {
        return None;
    }
    let mut variants = vec![url.to_owned()];
    match port {
        None => variants.push(format!("{scheme}://{userinfo}{host}:{default_port}{tail}")),
        Some(port) if port == default_port => {
            variants.push(format!("{scheme}://{userinfo}{host}{tail}"))
        }
        Some(_) => {}
    }
    Some(variants)
}

/// The decoded `application/x-www-form-urlencoded` pairs of a raw body, as Twilio signed them.
pub fn decode_form(raw_body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw_body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Verifies and parses Twilio webhooks for one account's auth token.
#[derive(Clone)]
pub struct Receiver {
    auth_token: String,
    account_sid: Option<String>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("auth_token", &"<redacted>")
            .field("account_sid", &self.account_sid)
            .finish()
    }
}

impl Receiver {
    /// A receiver checking signatures with `auth_token`; `Configuration` if it is blank.
    pub fn new(auth_token: &str) -> Result<Self, Error> {
        if auth_token.trim().is_empty() {
            return Err(Error::Configuration(
                "TWILIO_AUTH_TOKEN is not set: webhooks cannot be verified".to_owned(),
            ));
        }
        Ok(Receiver {
            auth_token: auth_token.to_owned(),
            account_sid: None,
        })
    }

    /// Also requires form webhooks to carry `AccountSid == account_sid` (a tenant's own
    /// sub-account shares nothing with another's).
    pub fn with_account_sid(mut self, account_sid: &str) -> Self {
        let sid = account_sid.trim();
        self.account_sid = (!sid.is_empty()).then(|| sid.to_owned());
        self
    }

    /// Checks `signature` over `url` and the decoded form `params` (any URL variant).
    pub fn verify_params(
        &self,
        url: &str,
        params: &[(String, String)],
        signature: &str,
    ) -> Result<(), SignatureProblem> {
        let variants = url_variants(url).ok_or(SignatureProblem::BadUrl)?;
        let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
            return Err(SignatureProblem::Mismatch);
        };
        // Every variant is computed and compared, so timing does not tell which one matched.
        let mut matched = subtle::Choice::from(0);
        for variant in &variants {
            matched |= mac(&self.auth_token, variant, params).ct_eq(&given);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureProblem::Mismatch)
        }
    }

    /// Verifies a form POST (`url` as Twilio requested it, the headers, the raw body) and
    /// parses it. Answer 401 on `SignatureInvalid`, 400 on `Decode`.
    pub fn receive(
        &self,
        url: &str,
        headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<VoiceWebhook, Error> {
        let signature = header_signature(headers)?;
        let params = decode_form(raw_body);
        self.verify_params(url, &params, signature)?;
        let webhook = VoiceWebhook::from_pairs(params);
        if let Some(expected) = &self.account_sid {
            let same = webhook
                .account_sid
                .as_deref()
                .is_some_and(|got| bool::from(got.as_bytes().ct_eq(expected.as_bytes())));
            if !same {
                return Err(SignatureProblem::AccountMismatch.into());
            }
        }
        Ok(webhook)
    }

    /// Verifies a JSON POST: the URL (with its `bodySHA256`) is signed with no parameters, and
    /// the raw body's SHA-256 must be `bodySHA256`. Returns the parsed JSON.
    pub fn receive_json(
        &self,
        url: &str,
        headers: &HeaderMap,
        raw_body: &[u8],
    ) -> Result<serde_json::Value, Error> {
        let signature = header_signature(headers)?;
        self.verify_params(url, &[], signature)?;
        let query = url
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(q))
            .unwrap_or("");
        let expected = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == BODY_SHA256_PARAM)
            .map(|(_, v)| v.to_ascii_lowercase())
            .ok_or(SignatureProblem::MissingBodyHash)?;
        if !bool::from(body_sha256(raw_body).as_bytes().ct_eq(expected.as_bytes())) {
            return Err(SignatureProblem::BodyMismatch.into());
        }
        serde_json::from_slice(raw_body).map_err(|e| Error::Decode(format!("JSON webhook: {e}")))
    }
}

fn header_signature(headers: &HeaderMap) -> Result<&str, SignatureProblem> {
    headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(SignatureProblem::MissingHeader)
}
