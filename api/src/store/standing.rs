//! What every member request is checked against (issue 13's reads): the account's session
//! version and its role in the tenant, in one round trip on the read connections.
//!
//! Must not: decide what a standing means (`auth` does).

use leadline_domain::ids::{TenantId, UserId};
use sea_orm::ConnectionTrait;

use super::Store;
use crate::error::ApiResult;

impl Store {
    /// What a member's token is checked against, in one round trip: the account's current
    /// session version (`None` when the user no longer exists) and its role in `tenant`
    /// (`None` when it is not, or no longer, a member). Read fresh on every request, so a
    /// revoked session or a removed member is refused at once, on every replica.
    pub async fn member_standing(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> ApiResult<Option<(i32, Option<String>)>> {
        let backend = self.reader.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                "SELECT u.session_version, m.role FROM users u \
                 LEFT JOIN memberships m ON m.user_id = u.id AND m.tenant_id = $1 WHERE u.id = $2"
            }
            _ => {
                "SELECT u.session_version, m.role FROM users u \
                 LEFT JOIN memberships m ON m.user_id = u.id AND m.tenant_id = ?1 WHERE u.id = ?2"
            }
        };
        let statement = sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [tenant.uuid().into(), user.uuid().into()],
        );
        let Some(row) = self.reader.query_one(statement).await? else {
            return Ok(None);
        };
        let session_version: i32 = row.try_get("", "session_version")?;
        let role: Option<String> = row.try_get("", "role")?;
        Ok(Some((session_version, role)))
    }
}
