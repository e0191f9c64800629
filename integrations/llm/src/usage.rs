//! Token usage, estimated cost, and a per-tenant meter.
//!
//! Prices are list prices in micros-USD per million tokens, keyed by model-name prefix so dated
//! snapshot names (`gpt-4o-mini-2024-07-18`, `claude-sonnet-4-5-20250929`) find their family.
//! They are an estimate for dashboards and quotas, not an invoice: the provider's bill wins.
//! This module does no IO; persisting the meter's totals is the api's job.

use std::collections::BTreeMap;
use std::sync::Mutex;

use leadline_domain::ids::TenantId;
use serde::{Deserialize, Serialize};

/// Tokens of one exchange (or a sum of exchanges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens (Anthropic `input_tokens`, OpenAI `prompt_tokens`).
    pub input_tokens: u64,
    /// Generated tokens (Anthropic `output_tokens`, OpenAI `completion_tokens`).
    pub output_tokens: u64,
}

impl Usage {
    /// The sum of two usages (saturating).
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
        }
    }
}

/// The list price of one model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPrice {
    /// Micros-USD per million input tokens ($3.00 / MTok = 3_000_000).
    pub input_micros_per_mtok: u64,
    /// Micros-USD per million output tokens.
    pub output_micros_per_mtok: u64,
}

/// Prices by model-name prefix; the longest matching prefix wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    entries: Vec<(String, ModelPrice)>,
}

/// `$x` per million tokens as micros-USD per million tokens.
const fn usd(dollars_times_100: u64) -> u64 {
    dollars_times_100 * 10_000
}

impl Default for PriceTable {
    /// List prices (USD per million tokens, input/output) as published by Anthropic and OpenAI
    /// for these families in 2025. Update here when a tenant can select a new model.
    fn default() -> Self {
        let table: [(&str, u64, u64); 16] = [
            // Anthropic
            ("claude-opus-4-5", usd(500), usd(2500)),
            ("claude-opus-4", usd(1500), usd(7500)),
            ("claude-sonnet-4", usd(300), usd(1500)),
            ("claude-3-7-sonnet", usd(300), usd(1500)),
            ("claude-3-5-sonnet", usd(300), usd(1500)),
            ("claude-haiku-4-5", usd(100), usd(500)),
            ("claude-3-5-haiku", usd(80), usd(400)),
            // OpenAI
            ("gpt-4o-mini", usd(15), usd(60)),
            ("gpt-4o", usd(250), usd(1000)),
            ("gpt-4.1-nano", usd(10), usd(40)),
            ("gpt-4.1-mini", usd(40), usd(160)),
            ("gpt-4.1", usd(200), usd(800)),
            ("gpt-5-nano", usd(5), usd(40)),
            ("gpt-5-mini", usd(25), usd(200)),
            ("gpt-5", usd(125), usd(1000)),
            ("o4-mini", usd(110), usd(440)),
        ];
        PriceTable::new(table.iter().map(|(prefix, input, output)| {
            (
                (*prefix).to_owned(),
                ModelPrice {
                    input_micros_per_mtok: *input,
                    output_micros_per_mtok: *output,
                },
            )
        }))
    }
}

impl PriceTable {
    /// A table from `(model-name prefix, price)` pairs.
    pub fn new(entries: impl IntoIterator<Item = (String, ModelPrice)>) -> Self {
        Self {
            entries: entries.into_iter().collect(),
        }
    }

    /// The price of `model`: the entry with the longest prefix of it (so `gpt-4o-mini-2024-07-18`
    /// is priced as `gpt-4o-mini`, not `gpt-4o`). None for a model the table does not know.
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        self.entries
            .iter()
            .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, price)| *price)
    }

    /// Estimated cost of `usage` on `model` in micros-USD, rounded half up. None when the model
    /// is not priced (the api shows "unknown" rather than a made-up zero).
    pub fn estimated_cost_micros(&self, model: &str, usage: Usage) -> Option<u64> {
        let price = self.price(model)?;
        let total = u128::from(usage.input_tokens) * u128::from(price.input_micros_per_mtok)
            + u128::from(usage.output_tokens) * u128::from(price.output_micros_per_mtok);
        let micros = (total + 500_000) / 1_000_000;
        Some(u64::try_from(micros).unwrap_or(u64::MAX))
    }
}

/// [`PriceTable::estimated_cost_micros`] on the default table.
pub fn estimated_cost_micros(model: &str, usage: Usage) -> Option<u64> {
    PriceTable::default().estimated_cost_micros(model, usage)
}

/// Totals of one tenant on one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UsageTotals {
    /// Answered (billed) requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Estimated cost in micros-USD (0 contribution from unpriced models).
    pub estimated_cost_micros: u64,
    /// Requests whose model was not in the price table.
    pub unpriced_requests: u64,
}

/// An in-memory meter of usage by tenant and model, safe to share between tasks.
///
/// The resilient provider records every answered request here, including answers whose content
/// then failed validation: the provider billed those tokens all the same.
#[derive(Debug, Default)]
pub struct UsageMeter {
    prices: PriceTable,
    totals: Mutex<BTreeMap<(TenantId, String), UsageTotals>>,
}

impl UsageMeter {
    /// A meter pricing with `prices`.
    pub fn new(prices: PriceTable) -> Self {
        Self {
            prices,
            totals: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds one answered request of `tenant` on `model`.
    pub fn record(&self, tenant: TenantId, model: &str, usage: Usage) {
        let cost = self.prices.estimated_cost_micros(model, usage);
        let mut totals = self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = totals.entry((tenant, model.to_owned())).or_default();
        entry.requests += 1;
        entry.input_tokens = entry.input_tokens.saturating_add(usage.input_tokens);
        entry.output_tokens = entry.output_tokens.saturating_add(usage.output_tokens);
        match cost {
            Some(micros) => {
                entry.estimated_cost_micros = entry.estimated_cost_micros.saturating_add(micros)
            }
            None => entry.unpriced_requests += 1,
        }
    }

    /// The totals of `tenant`, by model name.
    pub fn tenant_totals(&self, tenant: TenantId) -> BTreeMap<String, UsageTotals> {
        let totals = self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        totals
            .iter()
            .filter(|((t, _), _)| *t == tenant)
            .map(|((_, model), totals)| (model.clone(), *totals))
            .collect()
    }

    /// Takes and resets every total (for a periodic flush to the database).
    pub fn drain(&self) -> Vec<(TenantId, String, UsageTotals)> {
        let mut totals = self
            .totals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *totals)
            .into_iter()
            .map(|((tenant, model), t)| (tenant, model, t))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_so_dated_and_mini_models_are_priced_right() {
        let table = PriceTable::default();
        assert_eq!(
            table
                .price("gpt-4o-mini-2024-07-18")
                .map(|p| p.input_micros_per_mtok),
            Some(150_000)
        );
        assert_eq!(
            table
                .price("gpt-4o-2024-08-06")
                .map(|p| p.input_micros_per_mtok),
            Some(2_500_000)
        );
        assert_eq!(
            table
                .price("claude-sonnet-4-5-20250929")
                .map(|p| p.output_micros_per_mtok),
            Some(15_000_000)
        );
        assert_eq!(table.price("llama-3"), None);
    }

    #[test]
    fn cost_is_tokens_times_price_rounded_half_up() {
        // 1M in at $3 + 1M out at $15 = $18.
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 1_000_000,
        };
        assert_eq!(
            estimated_cost_micros("claude-sonnet-4-5", usage),
            Some(18_000_000)
        );
        // 512 in * 3 micros + 64 out * 15 micros = 1536 + 960.
        let usage = Usage {
            input_tokens: 512,
            output_tokens: 64,
        };
        assert_eq!(
            estimated_cost_micros("claude-sonnet-4-5", usage),
            Some(2_496)
        );
        // 100 in * 0.15 + 20 out * 0.6 = 15 + 12 = 27 micros.
        let usage = Usage {
            input_tokens: 100,
            output_tokens: 20,
        };
        assert_eq!(estimated_cost_micros("gpt-4o-mini", usage), Some(27));
        // 3 in * 0.15 = 0.45 -> 0; 4 in = 0.6 -> 1.
        assert_eq!(
            estimated_cost_micros(
                "gpt-4o-mini",
                Usage {
                    input_tokens: 3,
                    output_tokens: 0
                }
            ),
            Some(0)
        );
        assert_eq!(
            estimated_cost_micros(
                "gpt-4o-mini",
                Usage {
                    input_tokens: 4,
                    output_tokens: 0
                }
            ),
            Some(1)
        );
        assert_eq!(estimated_cost_micros("unknown-model", usage), None);
    }

    #[test]
    fn meter_keeps_tenants_and_models_apart() {
        let meter = UsageMeter::default();
        let a = TenantId(uuid::Uuid::from_u128(1));
        let b = TenantId(uuid::Uuid::from_u128(2));
        meter.record(
            a,
            "gpt-4o-mini",
            Usage {
                input_tokens: 100,
                output_tokens: 20,
            },
        );
        meter.record(
            a,
            "gpt-4o-mini",
            Usage {
                input_tokens: 100,
                output_tokens: 20,
            },
        );
        meter.record(
            a,
            "mystery",
            Usage {
                input_tokens: 1,
                output_tokens: 1,
            },
        );
        meter.record(
            b,
            "claude-sonnet-4-5",
            Usage {
                input_tokens: 512,
                output_tokens: 64,
            },
        );
        let totals = meter.tenant_totals(a);
        let mini = totals.get("gpt-4o-mini").copied().unwrap_or_default();
        assert_eq!(
            (
                mini.requests,
                mini.input_tokens,
                mini.output_tokens,
                mini.estimated_cost_micros
            ),
            (2, 200, 40, 54)
        );
        assert_eq!(totals.get("mystery").map(|t| t.unpriced_requests), Some(1));
        assert_eq!(meter.tenant_totals(b).len(), 1);
        assert_eq!(meter.drain().len(), 3);
        assert!(meter.tenant_totals(a).is_empty());
    }
}
