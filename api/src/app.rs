//! Building and running the server: connect, migrate, choose the bus, bind, serve until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::TokenKeys;
use crate::bus::EventBus;
use crate::config::Config;
use crate::graphql::{build_schema, SchemaLimits};
use crate::http::{router, HttpState};
use crate::jobs::JobQueue;
use crate::limit::{LimitStore, RequestLimits};
use crate::services::ai::AiService;
use crate::services::inbox::PlatformClients;
use crate::services::send_limit::SendLimiter;
use crate::state::AppState;
use crate::store::Store;

/// A built server, bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
}

impl Application {
    /// Connects to the database (migrating it), starts the event bus and binds the address
    /// (port 0 picks a free port; see [`Application::local_addr`]).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::connect(&config).await.with_context(|| {
            format!(
                "connecting to {}",
                crate::config::redact_url(&config.database_url)
            )
        })?;
        store.migrate().await.context("running migrations")?;
        crate::store::sealing::log_sealed(
            &store
                .seal_existing_secrets()
                .await
                .context("sealing stored secrets")?,
        );
        let secret = store
            .jwt_secret(config.jwt_secret.as_deref())
            .await
            .context("loading the JWT secret")?;
        let tokens = TokenKeys::new(secret.as_bytes(), config.jwt_ttl)
            .with_customer_ttl(config.customer_token_ttl);
        let bus = match &config.redis_url {
            Some(url) => EventBus::redis(url, &config.redis_prefix)
                .context("starting the Redis event bus")?,
            None => EventBus::in_process(),
        };
        let schema_limits = SchemaLimits {
            max_depth: config.max_depth,
            max_complexity: config.max_complexity,
            max_root_fields: config.max_root_fields,
            introspection: config.introspection,
        };
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("binding {}", config.addr))?;
        let limit_store =
            LimitStore::from_config(&config).context("setting up the rate limits in Redis")?;
        let ai = AiService::new(store.clone(), &config, &limit_store)
            .context("setting up the AI providers")?;
        let jobs = JobQueue::new(store.clone(), bus.clone(), config.job_lease).with_backoff(
            leadline_domain::job::Backoff {
                base: config.job_retry_base,
                ..Default::default()
            },
        );
        let platforms =
            PlatformClients::new(&config).context("building the messaging platform clients")?;
        let send_limiter = SendLimiter::new(config.send_rate_per_minute, &limit_store);
        let live = crate::services::live::LiveSupervisor::new(&config, &store)
            .context("building the live-session supervisor")?;
        let support = crate::services::support::SupportRuntime::new(
            crate::limit::Limiter::new(
                "visitor_ip",
                crate::limit::Quota::per_minute(config.visitor_rate_per_minute),
                crate::limit::OnOutage::InProcess,
                &limit_store,
            ),
            crate::limit::Limiter::new(
                "customer_messages",
                crate::limit::Quota::per_minute(config.customer_messages_per_minute),
                crate::limit::OnOutage::InProcess,
                &limit_store,
            ),
            config.presence_ttl,
            config
                .redis_url
                .as_deref()
                .map(|url| (url, config.redis_prefix.as_str())),
        )
        .context("setting up the support chat")?;
        let mailer = crate::mailer::Mailer::from_config(&config).context("setting up e-mail")?;
        tracing::info!(transport = %mailer.describe(), "account e-mail");
        let limits = Arc::new(RequestLimits::new(&config, &limit_store));
        let billing = crate::services::billing::StripeClients::from_config(&config)
            .context("setting up billing")?;
        tracing::info!(
            enabled = config.billing_enabled(),
            plans = %config.plans_source,
            "billing"
        );
        let state = AppState {
            billing: Arc::new(billing),
            mailer: Arc::new(mailer),
            store,
            bus,
            tokens,
            config: Arc::new(config),
            ai,
            jobs,
            limits,
            platforms: Arc::new(platforms),
            send_limiter: Arc::new(send_limiter),
            live: Arc::new(live),
            support: Arc::new(support),
        };
        let schema = build_schema(Some(state.clone()), schema_limits);
        let router = router(HttpState {
            app: state.clone(),
            schema,
            metrics: crate::telemetry::metrics_handle(),
            sockets: Arc::new(crate::graphql::socket::SocketRegistry::new(
                state.config.ws_max_sockets_per_principal,
            )),
        });
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The shared state (for workers started beside the server).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves (with `config.workers` job workers beside the server, unless 0) until `shutdown`
    /// completes, then drains in-flight requests and running jobs.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        // Claims live sessions (those left ACTIVE by a previous run included) under leases.
        let live = tokio::spawn(
            self.state
                .live
                .clone()
                .run(self.state.clone(), stop_rx.clone()),
        );
        // Metered usage: the report chain of every tenant on a metered plan (idempotent per
        // interval, so replicas starting together schedule one run). Best effort: a failure
        // here delays reports until the tenant's next subscription event, it stops nothing.
        match crate::services::billing::metering::schedule_all(&self.state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tenants = n, "metered usage reports scheduled"),
            Err(error) => tracing::warn!(?error, "could not schedule metered usage reports"),
        }
        let workers = (self.state.config.workers > 0).then(|| {
            let pool = crate::workers::worker_pool(&self.state);
            let mut stop = stop_rx.clone();
            tokio::spawn(pool.run(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            }))
        });
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await?;
        let _ = live.await;
        if let Some(workers) = workers {
            let _ = workers.await;
        }
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
