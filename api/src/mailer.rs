//! Outbound e-mail: invite codes and address-verification tokens.
//!
//! Owns the two transports — real SMTP through `lettre` (`SMTP_URL`), or, when no SMTP server is
//! configured (the embedded default), an outbox folder with one `.eml` file per message, logged
//! with its path so `cargo run` needs no mail account — and the `send_email` job that uses them.
//!
//! What it must not do: send inside a database transaction (a slow or failing mail server would
//! hold locks and a rolled-back change would still have mailed), or keep a secret in a job
//! payload (job payloads are readable by every member through `jobs`). So a `send_email` job
//! names only what to send (an invite id, a user to verify); the handler mints the one-time code
//! at send time, stores its hash in a short transaction, commits, and only then talks to the
//! mail server. A retried job mints a new code, which replaces the old one.

use leadline_domain::ids::{InviteId, UserId};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use leadline_entity::jobs;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{random_secret, sha256_hex};
use crate::config::Config;
use crate::jobs::{JobFailure, JobHandler, NewJob};
use crate::store::Store;

/// The job kind that sends one account e-mail.
pub const SEND_EMAIL_JOB: &str = "send_email";

/// How long an e-mail verification token stays valid.
pub const VERIFICATION_VALID_HOURS: i64 = 24;

/// One plain-text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Where a message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the SMTP server.
    Smtp,
    /// Written to this file of the outbox folder.
    Outbox(PathBuf),
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message itself is wrong (bad address); retrying cannot help.
    #[error("the message cannot be sent: {0}")]
    Rejected(String),
    /// The server or the disk failed; worth retrying.
    #[error("sending failed: {0}")]
    Transient(String),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// Sends account e-mail through SMTP or into the outbox folder. Cheap to share (`Arc`).
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    /// The transport the configuration names: SMTP when `SMTP_URL` is set, else the outbox.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .smtp_from
            .parse()
            .map_err(|e| anyhow::anyhow!("SMTP_FROM: {e}"))?;
        match &config.smtp_url {
            Some(url) => Self::smtp(url, from),
            None => Ok(Self::outbox(&config.mail_outbox_dir, from)),
        }
    }

    /// Real SMTP (`smtp://` plain or `?tls=required` STARTTLS, `smtps://` implicit TLS).
    pub fn smtp(url: &str, from: Mailbox) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("SMTP_URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(Self {
            from,
            transport: Transport::Smtp(transport),
        })
    }

    /// The outbox folder (created on first use).
    pub fn outbox(dir: &Path, from: Mailbox) -> Self {
        Self {
            from,
            transport: Transport::Outbox(dir.to_path_buf()),
        }
    }

    /// A short description for the start-up log.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Outbox(dir) => format!("outbox folder {}", dir.display()),
        }
    }

    /// Sends one message. Never call it inside a database transaction.
    pub async fn send(&self, mail: &Mail) -> Result<Delivery, MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| MailError::Rejected(format!("recipient {:?}: {e}", mail.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Ok(Delivery::Smtp),
                Err(e) if e.is_permanent() => Err(MailError::Rejected(e.to_string())),
                Err(e) => Err(MailError::Transient(e.to_string())),
            },
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::Transient(format!("{}: {e}", dir.display())))?;
                // UUID v7 names sort in the order the messages were written.
                let path = dir.join(format!("{}.eml", Uuid::now_v7().simple()));
                tokio::fs::write(&path, message.formatted())
                    .await
                    .map_err(|e| MailError::Transient(format!("{}: {e}", path.display())))?;
                tracing::info!(path = %path.display(), subject = %mail.subject, "e-mail written to the outbox");
                Ok(Delivery::Outbox(path))
            }
        }
    }
}

/// What a `send_email` job sends. Holds ids only, never a code (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountMail {
    /// The invite's code, to the invited address.
    Invite { invite_id: Uuid },
    /// A verification token, to the user's address.
    Verification { user_id: Uuid },
}

impl AccountMail {
    /// The job that sends it, for `tenant_id`'s queue (enqueue it in the transaction that made
    /// the invite or the account, so it commits with it).
    pub fn job(&self, tenant_id: Uuid) -> NewJob {
        NewJob::new(tenant_id, SEND_EMAIL_JOB, json!(self))
    }
}

/// The invite message.
pub fn invite_mail(
    to: &str,
    tenant_name: &str,
    role: &str,
    code: &str,
    expires_at: DateTime<Utc>,
) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: format!("You are invited to {tenant_name} on Leadline"),
        body: format!(
            "You have been invited to join {tenant_name} on Leadline as {role}.\n\
             \n\
             Invite code: {code}\n\
             \n\
             Accept with the acceptInvite mutation (code, a password, and your name).\n\
             If you already have a Leadline account with this address, use its password.\n\
             The code works once, until {expires}.\n\
             \n\
             If you did not expect this, ignore this message.\n",
            expires = expires_at.format("%Y-%m-%d %H:%M UTC"),
        ),
    }
}

/// The address-verification message.
pub fn verification_mail(to: &str, token: &str, expires_at: DateTime<Utc>) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Confirm your e-mail address for Leadline".to_owned(),
        body: format!(
            "Someone signed up for Leadline with this address.\n\
             \n\
             Verification token: {token}\n\
             \n\
             If it was you, confirm with the verifyEmail mutation. The token works once,\n\
             until {expires}.\n\
             \n\
             If it was not you, ignore this message: the account stays unverified and cannot\n\
             join anyone's team with your address.\n",
            expires = expires_at.format("%Y-%m-%d %H:%M UTC"),
        ),
    }
}

/// Runs `send_email` jobs.
pub struct SendEmailHandler {
    store: Store,
    mailer: Arc<Mailer>,
}

impl SendEmailHandler {
    pub fn new(store: Store, mailer: Arc<Mailer>) -> Self {
        Self { store, mailer }
    }

    /// Mints the secret (committed before anything is sent) and renders the message; `None`
    /// when there is nothing to send any more (invite accepted or replaced, address verified).
    async fn prepare(&self, mail: &AccountMail) -> Result<Option<Mail>, JobFailure> {
        let retry = |e: crate::error::ApiError| JobFailure::Retry(format!("{e:?}"));
        let secret = random_secret(24);
        match mail {
            AccountMail::Invite { invite_id } => {
                let issued = self
                    .store
                    .reissue_invite_code(InviteId(*invite_id), &sha256_hex(&secret))
                    .await
                    .map_err(retry)?;
                Ok(issued.map(|(invite, tenant_name)| {
                    invite_mail(
                        &invite.email,
                        &tenant_name,
                        &invite.role,
                        &secret,
                        invite.expires_at,
                    )
                }))
            }
            AccountMail::Verification { user_id } => {
                let expires_at =
                    crate::store::now() + chrono::Duration::hours(VERIFICATION_VALID_HOURS);
                let user = self
                    .store
                    .issue_verification(UserId(*user_id), &sha256_hex(&secret), expires_at)
                    .await
                    .map_err(retry)?;
                Ok(user.map(|user| verification_mail(&user.email, &secret, expires_at)))
            }
        }
    }
}

#[async_trait::async_trait]
impl JobHandler for SendEmailHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let mail: AccountMail = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobFailure::Permanent(format!("bad send_email payload: {e}")))?;
        let Some(message) = self.prepare(&mail).await? else {
            return Ok(json!({"skipped": "nothing to send any more"}));
        };
        match self.mailer.send(&message).await {
            Ok(Delivery::Smtp) => Ok(json!({"delivered": "smtp"})),
            Ok(Delivery::Outbox(path)) => Ok(json!({"delivered": "outbox", "file": path})),
            Err(MailError::Rejected(e)) => Err(JobFailure::Permanent(e)),
            Err(MailError::Transient(e)) => Err(JobFailure::Retry(e)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// A loopback SMTP server speaking just enough of RFC 5321 for one client session
    /// (greeting, EHLO, MAIL, RCPT, DATA, QUIT); returns the commands and the message it got.
    async fn fake_smtp() -> (u16, tokio::task::JoinHandle<(Vec<String>, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut commands = Vec::new();
            let mut data = String::new();
            write.write_all(b"220 fake.test ESMTP\r\n").await.unwrap();
            while let Ok(Some(line)) = lines.next_line().await {
                let verb = line.to_ascii_uppercase();
                commands.push(line.clone());
                let reply: &[u8] = if verb.starts_with("EHLO") || verb.starts_with("HELO") {
                    b"250-fake.test\r\n250 8BITMIME\r\n"
                } else if verb.starts_with("MAIL") || verb.starts_with("RCPT") {
                    b"250 OK\r\n"
                } else if verb == "DATA" {
                    write.write_all(b"354 go ahead\r\n").await.unwrap();
                    while let Ok(Some(body)) = lines.next_line().await {
                        if body == "." {
                            break;
                        }
                        data.push_str(&body);
                        data.push('\n');
                    }
                    b"250 queued\r\n"
                } else if verb == "QUIT" {
                    write.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                } else {
                    b"250 OK\r\n"
                };
                write.write_all(reply).await.unwrap();
            }
            (commands, data)
        });
        (port, server)
    }

    #[tokio::test]
    async fn smtp_transport_delivers_to_a_loopback_server() {
        let (port, server) = fake_smtp().await;
        let mailer = Mailer::smtp(
            &format!("smtp://127.0.0.1:{port}"),
            "Leadline <no-reply@leadline.test>".parse().unwrap(),
        )
        .unwrap();
        let expires = Utc::now();
        let delivery = mailer
            .send(&invite_mail(
                "newhire@victim.test",
                "Victim",
                "ADMIN",
                "c0de",
                expires,
            ))
            .await
            .unwrap();
        assert_eq!(delivery, Delivery::Smtp);
        // The pool keeps the connection open; dropping the mailer closes it.
        drop(mailer);
        let (commands, data) = tokio::time::timeout(std::time::Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
        assert!(commands
            .iter()
            .any(|c| c.to_ascii_uppercase().starts_with("EHLO")));
        assert!(commands
            .iter()
            .any(|c| c.contains("MAIL FROM:<no-reply@leadline.test>")));
        assert!(commands
            .iter()
            .any(|c| c.contains("RCPT TO:<newhire@victim.test>")));
        assert!(data.contains("To: newhire@victim.test"), "{data}");
        assert!(data.contains("Invite code: c0de"), "{data}");
    }

    #[tokio::test]
    async fn smtp_rejection_is_permanent_and_an_unreachable_server_is_transient() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 fake.test ESMTP\r\n").await.unwrap();
            while let Ok(Some(line)) = lines.next_line().await {
                let verb = line.to_ascii_uppercase();
                let reply: &[u8] = if verb.starts_with("RCPT") {
                    b"550 no such user\r\n"
                } else if verb == "QUIT" {
                    b"221 bye\r\n"
                } else {
                    b"250 OK\r\n"
                };
                write.write_all(reply).await.unwrap();
            }
        });
        let from: Mailbox = "no-reply@leadline.test".parse().unwrap();
        let mail = verification_mail("nobody@leadline.test", "t0ken", Utc::now());
        let rejected = Mailer::smtp(&format!("smtp://127.0.0.1:{port}"), from.clone())
            .unwrap()
            .send(&mail)
            .await;
        assert!(
            matches!(rejected, Err(MailError::Rejected(_))),
            "{rejected:?}"
        );

        // Nothing listens on a port we just freed.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let unreachable = Mailer::smtp(&format!("smtp://127.0.0.1:{closed_port}"), from)
            .unwrap()
            .send(&mail)
            .await;
        assert!(
            matches!(unreachable, Err(MailError::Transient(_))),
            "{unreachable:?}"
        );
    }

    #[tokio::test]
    async fn the_outbox_keeps_one_eml_file_per_message() {
        let dir = std::env::temp_dir().join(format!("leadline-outbox-{}", Uuid::now_v7()));
        let mailer = Mailer::outbox(&dir, "no-reply@leadline.test".parse().unwrap());
        let first = mailer
            .send(&verification_mail("a@leadline.test", "one", Utc::now()))
            .await
            .unwrap();
        mailer
            .send(&verification_mail("b@leadline.test", "two", Utc::now()))
            .await
            .unwrap();
        let Delivery::Outbox(path) = first else {
            panic!("expected the outbox")
        };
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("To: a@leadline.test"));
        assert!(text.contains("Verification token: one"));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        assert!(matches!(
            mailer
                .send(&verification_mail("not an address", "x", Utc::now()))
                .await,
            Err(MailError::Rejected(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn job_payloads_name_ids_never_secrets() {
        let invite_id = Uuid::now_v7();
        let job = AccountMail::Invite { invite_id }.job(Uuid::now_v7());
        assert_eq!(job.kind, SEND_EMAIL_JOB);
        assert_eq!(
            job.payload,
            json!({"kind": "invite", "invite_id": invite_id})
        );
    }
}
