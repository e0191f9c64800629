//! WhatsApp leads get their phone (issue 17): a `wa_id` is the customer's number in E.164
//! digits, but leads created before this release kept `phone` empty whenever libphonenumber did
//! not know the number's range. New leads get it at insert (`store::inbox::insert_messaging_lead`);
//! this fills the existing ones from their WHATSAPP identity — the oldest, should a lead hold
//! several — and never overwrites a phone a lead already has.
//!
//! The digit check is written here rather than taken from `leadline-domain` on purpose: a
//! landed migration must do the same thing forever, whatever the domain's rules become. It is
//! the E.164 shape (7 to 15 digits, no leading 0); WhatsApp registered the number by SMS, so
//! the shape is all there is left to check. Down leaves the phones in place: they are true.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000003_fill_lead_phone"
    }
}

/// The identity check on `li.external_id`, in each backend's own pattern syntax.
fn e164_digits(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "li.external_id ~ '^[1-9][0-9]{6,14}$'",
        // SQLite has no regular expressions built in; GLOB and length say the same.
        _ => {
            "li.external_id GLOB '[1-9]*' AND li.external_id NOT GLOB '*[^0-9]*' \
             AND length(li.external_id) BETWEEN 7 AND 15"
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let identity = format!(
            "FROM lead_identities li WHERE li.lead_id = leads.id \
             AND li.tenant_id = leads.tenant_id AND li.channel = 'WHATSAPP' AND {}",
            e164_digits(manager.get_database_backend())
        );
        db.execute_unprepared(&format!(
            "UPDATE leads SET phone = (SELECT '+' || li.external_id {identity} \
             ORDER BY li.created_at, li.id LIMIT 1) \
             WHERE (phone IS NULL OR phone = '') AND EXISTS (SELECT 1 {identity})"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
