//! What a tenant configures: channel connections (secrets write-only), the AI context, and the
//! product catalog.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject, ID};
use leadline_domain::money::Money as DomainMoney;

use super::types::{
    AiContext, AiProvider, BusinessHours, Channel, ChannelConnection, ConnectionStatus, Product,
    ResponseStyle,
};
use super::{
    clean_text, connection, parse_id, principal, required_text, state, tenant_for, try_connection,
    AccessGuard, IdConnection,
};
use crate::auth::Access;
use crate::error::ApiError;
use crate::store::{
    AiContextChanges, ChannelConnectionChanges, PageRequest, ProductChanges, ProductFilter,
};

mod channels;
use channels::{live_settings, whatsapp_template, MAX_SECRET_CHARS};
pub use channels::{
    DeleteChannelConnectionInput, UpsertChannelConnectionInput, UpsertChannelConnectionPayload,
};

/// Result of a delete.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The id that was deleted.
    pub deleted_id: ID,
}

/// One day's opening hours.
#[derive(InputObject)]
pub struct BusinessHoursInput {
    /// 1 = Monday … 7 = Sunday.
    pub day_of_week: i32,
    /// "HH:MM", 24 h.
    pub opens_at: String,
    /// "HH:MM", 24 h, after `opensAt`.
    pub closes_at: String,
}

/// Input of `updateAiContext`: omitted fields stay as they are.
#[derive(InputObject, Default)]
pub struct UpdateAiContextInput {
    /// Extra instructions for the AI (empty clears it; at most 8,000 characters).
    pub system_prompt: Option<String>,
    /// Replaces all opening hours.
    pub business_hours: Option<Vec<BusinessHoursInput>>,
    /// IANA time zone name, e.g. "America/Mexico_City".
    pub timezone: Option<String>,
    /// Reply style.
    pub response_style: Option<ResponseStyle>,
    /// 0–2.
    pub temperature: Option<f64>,
    /// 1–8192.
    pub max_tokens: Option<i32>,
    /// Replaces the escalation keywords (each 1–80 characters, at most 100).
    pub escalation_keywords: Option<Vec<String>>,
    /// Hand over after this many AI replies (1–100; 0 turns it off).
    pub auto_escalate_after_messages: Option<i32>,
    /// Which provider answers.
    pub provider: Option<AiProvider>,
    /// Provider model name (empty: the provider's default).
    pub model: Option<String>,
}

/// Result of `updateAiContext`.
#[derive(SimpleObject)]
pub struct UpdateAiContextPayload {
    /// The AI context after the change.
    pub ai_context: AiContext,
}

/// Money as input.
#[derive(InputObject)]
pub struct MoneyInput {
    /// Amount in micros (19.99 → 19990000), 0 or more.
    pub amount_micros: i64,
    /// ISO-4217 code, e.g. USD, MXN, EUR.
    pub currency_code: String,
}

/// Input of `createProduct`.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// Name (1–200 characters).
    pub name: String,
    /// Description the AI may quote (at most 4,000 characters).
    pub description: Option<String>,
    /// Price.
    pub price: MoneyInput,
    /// Where to buy it: an http(s) URL.
    pub purchase_link: Option<String>,
    /// Words customers use for it.
    pub keywords: Option<Vec<String>>,
    /// Whether the AI may offer it (default true).
    pub active: Option<bool>,
}

/// Input of `updateProduct`: omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProductInput {
    /// The product id.
    pub id: ID,
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Price.
    pub price: Option<MoneyInput>,
    /// Link (empty clears it).
    pub purchase_link: Option<String>,
    /// Replaces the keywords.
    pub keywords: Option<Vec<String>>,
    /// Whether the AI may offer it.
    pub active: Option<bool>,
}

/// Input of `deleteProduct`.
#[derive(InputObject)]
pub struct DeleteProductInput {
    /// The product id.
    pub id: ID,
}

/// Result of `createProduct` / `updateProduct`.
#[derive(SimpleObject)]
pub struct ProductPayload {
    /// The product.
    pub product: Product,
}

/// Filter for `products`.
#[derive(InputObject, Default)]
pub struct ProductFilterInput {
    /// Case-insensitive text in the name or description.
    pub search: Option<String>,
    /// Only active (or inactive) products.
    pub active: Option<bool>,
}

fn money(input: MoneyInput, field: &str) -> Result<DomainMoney, ApiError> {
    DomainMoney::parse(input.amount_micros, &input.currency_code)
        .map_err(|e| ApiError::invalid(field, e))
}

fn link(value: Option<String>) -> Result<Option<Option<String>>, ApiError> {
    match value.map(|v| v.trim().to_owned()) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(Some(None)),
        Some(v)
            if (v.starts_with("https://") || v.starts_with("http://"))
                && v.len() <= 2048
                && !v.contains(char::is_whitespace)
                && v.split("://").nth(1).is_some_and(|rest| !rest.is_empty()) =>
        {
            Ok(Some(Some(v)))
        }
        Some(_) => Err(ApiError::bad_input(
            "purchaseLink",
            "use an http(s) URL of at most 2048 characters",
        )),
    }
}

fn keywords(values: Option<Vec<String>>, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    let Some(values) = values else {
        return Ok(None);
    };
    if values.len() > 100 {
        return Err(ApiError::bad_input(field, "at most 100 entries"));
    }
    let mut cleaned = Vec::with_capacity(values.len());
    for value in values {
        let value = value.trim().to_owned();
        if value.is_empty() || value.chars().count() > 80 {
            return Err(ApiError::bad_input(
                field,
                "each entry must have 1–80 characters",
            ));
        }
        if !cleaned.contains(&value) {
            cleaned.push(value);
        }
    }
    Ok(Some(cleaned))
}

fn clock(value: &str) -> Option<u32> {
    let (h, m) = value.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// The tenant's channel connections, newest first.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn channel_connections(
        &self,
        ctx: &Context<'_>,
        channel: Option<Channel>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<ChannelConnection>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let store = &state(ctx).store;
        let slug = store.tenant(tenant_id).await?.slug;
        let page = store
            .channel_connections(tenant_id, channel.map(Into::into), request)
            .await?;
        try_connection(
            page,
            request,
            |c| c.id,
            |c| ChannelConnection::new(c, &slug),
        )
    }

    /// One channel connection.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn channel_connection(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<ChannelConnection> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let store = &state(ctx).store;
        let row = store
            .channel_connection(tenant_id, parse_id(&id, "id")?)
            .await?;
        ChannelConnection::new(row, &store.tenant(tenant_id).await?.slug)
    }

    /// The tenant's AI settings.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn ai_context(&self, ctx: &Context<'_>) -> async_graphql::Result<AiContext> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(AiContext(state(ctx).store.ai_context(tenant_id).await?))
    }

    /// The catalog, newest first.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn products(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProductFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Product>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let page = state(ctx)
            .store
            .products(
                tenant_id,
                ProductFilter {
                    search: filter.search,
                    active: filter.active,
                },
                request,
            )
            .await?;
        connection(page, request, |p| p.id, Product)
    }

    /// One product.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn product(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Product> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(Product(
            state(ctx)
                .store
                .product(tenant_id, parse_id(&id, "id")?)
                .await?,
        ))
    }
}

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates or updates the tenant's connection for a channel (owners and admins). Secrets
    /// are stored for webhook verification and sending, and never returned. Audited. YOUTUBE,
    /// TWITCH and TIKTOK connections can also hold your own live-platform credentials, which
    /// your live sessions then use instead of the operator's.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn upsert_channel_connection(
        &self,
        ctx: &Context<'_>,
        input: UpsertChannelConnectionInput,
    ) -> async_graphql::Result<UpsertChannelConnectionPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let bounded = |value: Option<String>, field: &str| -> Result<Option<String>, ApiError> {
            match value.map(|v| v.trim().to_owned()) {
                Some(v) if v.chars().count() > MAX_SECRET_CHARS => Err(ApiError::bad_input(
                    field,
                    format!("at most {MAX_SECRET_CHARS} characters"),
                )),
                other => Ok(other),
            }
        };
        let whatsapp_template = match input.whatsapp_template {
            MaybeUndefined::Undefined => None,
            _ if input.channel != Channel::Whatsapp => {
                return Err(ApiError::bad_input(
                    "whatsappTemplate",
                    "only WhatsApp connections have a message template",
                )
                .into())
            }
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(template) => Some(Some(whatsapp_template(template)?)),
        };
        let only = |value: Option<String>, field: &str, wanted: Channel| {
            if value.is_some() && input.channel != wanted {
                return Err(ApiError::bad_input(
                    field,
                    format!(
                        "only {} connections have it",
                        leadline_domain::channel::Channel::from(wanted)
                    ),
                ));
            }
            bounded(value, field)
        };
        let api_key = only(input.api_key, "apiKey", Channel::Youtube)?;
        let live_access_token = only(input.live_access_token, "liveAccessToken", Channel::Tiktok)?;
        let live = live_settings(
            input.channel,
            input.project_name,
            input.bot_login,
            input.client_id,
        )?;
        let changes = ChannelConnectionChanges {
            external_account_id: bounded(input.external_account_id, "externalAccountId")?,
            verify_token: bounded(input.verify_token, "verifyToken")?,
            app_secret: bounded(input.app_secret, "appSecret")?,
            client_secret: bounded(input.client_secret, "clientSecret")?,
            access_token: bounded(input.access_token, "accessToken")?,
            ai_enabled: input.ai_enabled,
            status: input.status.map(Into::into),
            legacy_signature: input.legacy_signature,
            webhook_account_id: bounded(input.webhook_account_id, "webhookAccountId")?,
            whatsapp_template,
            api_key,
            live_access_token,
            live,
        };
        let store = &state(ctx).store;
        let (row, created) = store
            .upsert_channel_connection(
                tenant_id,
                principal(ctx).actor(),
                input.channel.into(),
                changes,
            )
            .await?;
        let slug = store.tenant(tenant_id).await?.slug;
        Ok(UpsertChannelConnectionPayload {
            connection: ChannelConnection::new(row, &slug)?,
            created,
        })
    }

    /// Deletes a channel connection (owners and admins). Audited.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn delete_channel_connection(
        &self,
        ctx: &Context<'_>,
        input: DeleteChannelConnectionInput,
    ) -> async_graphql::Result<DeletePayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        state(ctx)
            .store
            .delete_channel_connection(
                tenant_id,
                principal(ctx).actor(),
                parse_id(&input.id, "id")?,
            )
            .await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }

    /// Changes the AI settings (owners and admins). Audited.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn update_ai_context(
        &self,
        ctx: &Context<'_>,
        input: UpdateAiContextInput,
    ) -> async_graphql::Result<UpdateAiContextPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        if let Some(t) = input.temperature {
            if !(0.0..=2.0).contains(&t) {
                return Err(ApiError::bad_input("temperature", "must be between 0 and 2").into());
            }
        }
        if let Some(m) = input.max_tokens {
            if !(1..=8192).contains(&m) {
                return Err(ApiError::bad_input("maxTokens", "must be between 1 and 8192").into());
            }
        }
        let business_hours = match input.business_hours {
            None => None,
            Some(days) => {
                let mut hours = Vec::with_capacity(days.len());
                for day in days {
                    if !(1..=7).contains(&day.day_of_week) {
                        return Err(ApiError::bad_input(
                            "businessHours.dayOfWeek",
                            "1 (Monday) to 7 (Sunday)",
                        )
                        .into());
                    }
                    match (clock(&day.opens_at), clock(&day.closes_at)) {
                        (Some(open), Some(close)) if open < close => {}
                        _ => {
                            return Err(ApiError::bad_input(
                                "businessHours",
                                "times are HH:MM and opensAt comes before closesAt",
                            )
                            .into())
                        }
                    }
                    hours.push(BusinessHours {
                        day_of_week: day.day_of_week,
                        opens_at: day.opens_at,
                        closes_at: day.closes_at,
                    });
                }
                Some(serde_json::to_value(hours).map_err(|e| ApiError::Internal(e.into()))?)
            }
        };
        let timezone = match input.timezone.map(|t| t.trim().to_owned()) {
            Some(tz)
                if tz.is_empty()
                    || tz.len() > 64
                    || !tz
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)) =>
            {
                return Err(ApiError::bad_input(
                    "timezone",
                    "use an IANA name such as Europe/Madrid",
                )
                .into())
            }
            other => other,
        };
        let auto_escalate = match input.auto_escalate_after_messages {
            None => None,
            Some(0) => Some(None),
            Some(n) if (1..=100).contains(&n) => Some(Some(n)),
            Some(_) => {
                return Err(
                    ApiError::bad_input("autoEscalateAfterMessages", "0 (off) or 1–100").into(),
                )
            }
        };
        let changes = AiContextChanges {
            system_prompt: input
                .system_prompt
                .map(|p| clean_text(Some(p), "systemPrompt", 8000))
                .transpose()?,
            business_hours,
            timezone,
            response_style: input.response_style.map(|s| {
                leadline_domain::analysis::ResponseStyle::from(s)
                    .as_str()
                    .to_owned()
            }),
            temperature: input.temperature,
            max_tokens: input.max_tokens,
            escalation_keywords: keywords(input.escalation_keywords, "escalationKeywords")?,
            auto_escalate_after_messages: auto_escalate,
            provider: input.provider.map(|p| p.as_str().to_owned()),
            model: input
                .model
                .map(|m| clean_text(Some(m), "model", 120))
                .transpose()?,
        };
        let context = state(ctx)
            .store
            .update_ai_context(tenant_id, principal(ctx).actor(), changes)
            .await?;
        Ok(UpdateAiContextPayload {
            ai_context: AiContext(context),
        })
    }

    /// Adds a product to the catalog (owners and admins).
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> async_graphql::Result<ProductPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let changes = ProductChanges {
            name: Some(required_text(input.name, "name", 200)?),
            description: clean_text(input.description, "description", 4000)?,
            price: Some(money(input.price, "price")?),
            purchase_link: link(input.purchase_link)?,
            keywords: keywords(input.keywords, "keywords")?,
            active: input.active,
        };
        let product = state(ctx)
            .store
            .create_product(tenant_id, principal(ctx).actor(), changes)
            .await?;
        Ok(ProductPayload {
            product: Product(product),
        })
    }

    /// Changes a product (owners and admins).
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductInput,
    ) -> async_graphql::Result<ProductPayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        let id = parse_id(&input.id, "id")?;
        let changes = ProductChanges {
            name: input
                .name
                .map(|n| required_text(n, "name", 200))
                .transpose()?,
            description: input
                .description
                .map(|d| clean_text(Some(d), "description", 4000).map(Option::unwrap_or_default))
                .transpose()?,
            price: input.price.map(|p| money(p, "price")).transpose()?,
            purchase_link: link(input.purchase_link)?,
            keywords: keywords(input.keywords, "keywords")?,
            active: input.active,
        };
        let product = state(ctx)
            .store
            .update_product(tenant_id, principal(ctx).actor(), id, changes)
            .await?;
        Ok(ProductPayload {
            product: Product(product),
        })
    }

    /// Removes a product (owners and admins).
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn delete_product(
        &self,
        ctx: &Context<'_>,
        input: DeleteProductInput,
    ) -> async_graphql::Result<DeletePayload> {
        let tenant_id = tenant_for(ctx, Access::Administer)?;
        state(ctx)
            .store
            .delete_product(
                tenant_id,
                principal(ctx).actor(),
                parse_id(&input.id, "id")?,
            )
            .await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}

#[cfg(test)]
mod tests;
