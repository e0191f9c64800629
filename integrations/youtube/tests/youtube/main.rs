//! Black-box tests of the YouTube client, poller and quota meter against `FakeYoutube` (no
//! network beyond 127.0.0.1). One binary, so the crate and its fake link once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod poller;

use leadline_youtube::fake::FakeYoutube;
use leadline_youtube::{Client, Credentials};

pub fn client(fake: &FakeYoutube) -> Client {
    Client::new(reqwest::Client::new(), fake.base_url())
}

pub fn oauth(fake: &FakeYoutube) -> Credentials {
    Credentials::OAuth(fake.oauth_token().to_owned())
}

pub fn api_key(fake: &FakeYoutube) -> Credentials {
    Credentials::ApiKey(fake.api_key().to_owned())
}
