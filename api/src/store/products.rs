//! The product catalog. Prices are validated `Money` (micros + ISO-4217) before they get here.

use leadline_domain::ids::TenantId;
use leadline_domain::money::Money;
use leadline_entity::products;
use sea_orm::sea_query::{Expr, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::{now, paginate, Page, PageRequest, Store};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};

/// Filter for product listings.
#[derive(Debug, Default)]
pub struct ProductFilter {
    pub search: Option<String>,
    pub active: Option<bool>,
}

/// A new product or a partial change (`None` keeps a field; `Some(None)` clears the link).
#[derive(Debug, Default)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    pub purchase_link: Option<Option<String>>,
    pub keywords: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// `lower(column) LIKE lower(%term%)` with the user's `%`, `_` and `\` taken literally.
pub(super) fn contains_ci(
    column: impl sea_orm::sea_query::IntoColumnRef,
    term: &str,
) -> SimpleExpr {
    let escaped = term
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(column)))
        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

impl Store {
    /// Creates a product (name and price required).
    pub async fn create_product(
        &self,
        tenant: TenantId,
        actor: Actor,
        input: ProductChanges,
    ) -> ApiResult<products::Model> {
        let tenant_id = tenant.uuid();
        let name = input
            .name
            .ok_or_else(|| ApiError::bad_input("name", "required"))?;
        let price = input
            .price
            .ok_or_else(|| ApiError::bad_input("price", "required"))?;
        let at = now();
        let tx = self.db.begin().await?;
        let product = products::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            name: Set(name),
            description: Set(input.description.unwrap_or_default()),
            price_micros: Set(price.amount_micros()),
            currency: Set(price.currency_code().to_owned()),
            purchase_link: Set(input.purchase_link.flatten()),
            keywords: Set(json!(input.keywords.unwrap_or_default())),
            active: Set(input.active.unwrap_or(true)),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&tx)
        .await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "product.created",
                target_type: "product",
                target_id: Some(product.id.to_string()),
                details: json!({"name": product.name}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }

    /// One product of the tenant.
    pub async fn product(&self, tenant: TenantId, id: Uuid) -> ApiResult<products::Model> {
        let tenant_id = tenant.uuid();
        products::Entity::find_by_id(id)
            .filter(products::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("product"))
    }

    /// A page of the tenant's products.
    pub async fn products(
        &self,
        tenant: TenantId,
        filter: ProductFilter,
        page: PageRequest,
    ) -> ApiResult<Page<products::Model>> {
        let tenant_id = tenant.uuid();
        let mut select = products::Entity::find().filter(products::Column::TenantId.eq(tenant_id));
        if let Some(active) = filter.active {
            select = select.filter(products::Column::Active.eq(active));
        }
        if let Some(term) = filter.search.filter(|t| !t.trim().is_empty()) {
            select = select.filter(
                Condition::any()
                    .add(contains_ci(
                        (products::Entity, products::Column::Name),
                        term.trim(),
                    ))
                    .add(contains_ci(
                        (products::Entity, products::Column::Description),
                        term.trim(),
                    )),
            );
        }
        paginate(&self.db, select, products::Column::Id, page).await
    }

    /// The tenant's active products (what the AI may offer), oldest first; with `only`, just
    /// those ids. Ids that are not the tenant's active products are silently absent: the caller
    /// compares lengths to refuse them.
    pub async fn active_products(
        &self,
        tenant: TenantId,
        only: Option<&[Uuid]>,
    ) -> ApiResult<Vec<products::Model>> {
        let tenant_id = tenant.uuid();
        let mut select = products::Entity::find()
            .filter(products::Column::TenantId.eq(tenant_id))
            .filter(products::Column::Active.eq(true));
        if let Some(ids) = only {
            select = select.filter(products::Column::Id.is_in(ids.iter().copied()));
        }
        Ok(select
            .order_by_asc(products::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Applies a partial change.
    pub async fn update_product(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: Uuid,
        changes: ProductChanges,
    ) -> ApiResult<products::Model> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let current = products::Entity::find_by_id(id)
            .filter(products::Column::TenantId.eq(tenant_id))
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("product"))?;
        let mut row = current.into_active_model();
        if let Some(v) = changes.name {
            row.name = Set(v);
        }
        if let Some(v) = changes.description {
            row.description = Set(v);
        }
        if let Some(price) = changes.price {
            row.price_micros = Set(price.amount_micros());
            row.currency = Set(price.currency_code().to_owned());
        }
        if let Some(v) = changes.purchase_link {
            row.purchase_link = Set(v);
        }
        if let Some(v) = changes.keywords {
            row.keywords = Set(json!(v));
        }
        if let Some(v) = changes.active {
            row.active = Set(v);
        }
        row.updated_at = Set(now());
        let product = row.update(&tx).await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "product.updated",
                target_type: "product",
                target_id: Some(id.to_string()),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }

    /// Deletes a product.
    pub async fn delete_product(&self, tenant: TenantId, actor: Actor, id: Uuid) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let result = products::Entity::delete_many()
            .filter(products::Column::Id.eq(id))
            .filter(products::Column::TenantId.eq(tenant_id))
            .exec(&tx)
            .await?;
        if result.rows_affected == 0 {
            return Err(ApiError::NotFound("product"));
        }
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "product.deleted",
                target_type: "product",
                target_id: Some(id.to_string()),
                details: json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
