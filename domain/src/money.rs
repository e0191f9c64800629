//! Money as integer micros (1/1,000,000 of the currency's major unit) plus an ISO-4217 code.
//! Micros avoid floating-point drift and cover every currency's minor unit.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Micros per major unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;
/// Largest accepted amount: one trillion major units, far beyond any real price.
pub const MAX_AMOUNT_MICROS: i64 = 1_000_000_000_000 * MICROS_PER_UNIT;

/// A non-negative amount of money in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount_micros: i64,
    currency: String,
}

impl Money {
    /// Validates the amount (0..=MAX) and the ISO-4217 code (case-insensitive; stored upper-case).
    pub fn parse(amount_micros: i64, currency_code: &str) -> Result<Self, DomainError> {
        if !(0..=MAX_AMOUNT_MICROS).contains(&amount_micros) {
            return Err(DomainError::InvalidAmount(format!(
                "amountMicros must be between 0 and {MAX_AMOUNT_MICROS}, got {amount_micros}"
            )));
        }
        let code = currency_code.trim().to_ascii_uppercase();
        if iso_currency::Currency::from_code(&code).is_none() {
            return Err(DomainError::InvalidCurrency(currency_code.to_owned()));
        }
        Ok(Self {
            amount_micros,
            currency: code,
        })
    }

    /// The amount in micros.
    pub fn amount_micros(&self) -> i64 {
        self.amount_micros
    }

    /// The ISO-4217 code, upper-case.
    pub fn currency_code(&self) -> &str {
        &self.currency
    }

    /// Number of minor-unit digits for the currency (2 for USD, 0 for JPY).
    pub fn minor_digits(&self) -> u32 {
        iso_currency::Currency::from_code(&self.currency)
            .and_then(|c| c.exponent())
            .map(u32::from)
            .unwrap_or(2)
    }

    /// Human form used in replies and exports: `"19.99 USD"`, `"1500 JPY"`. Rounds half up to the
    /// currency's minor unit; always the same string for the same value (replies quote it verbatim).
    pub fn display(&self) -> String {
        let digits = self.minor_digits().min(6);
        let step = 10_i64.pow(6 - digits);
        let rounded = (self.amount_micros + step / 2) / step; // in minor units
        let unit = 10_i64.pow(digits);
        if digits == 0 {
            format!("{} {}", rounded, self.currency)
        } else {
            format!(
                "{}.{:0width$} {}",
                rounded / unit,
                rounded % unit,
                self.currency,
                width = digits as usize
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_parse_and_unknown_codes_do_not() {
        assert_eq!(
            Money::parse(19_990_000, "usd").map(|m| m.currency_code().to_owned()),
            Ok("USD".into())
        );
        assert!(matches!(
            Money::parse(1, "XYZ"),
            Err(DomainError::InvalidCurrency(_))
        ));
        assert!(matches!(
            Money::parse(-1, "USD"),
            Err(DomainError::InvalidAmount(_))
        ));
        assert!(matches!(
            Money::parse(MAX_AMOUNT_MICROS + 1, "USD"),
            Err(DomainError::InvalidAmount(_))
        ));
    }

    #[test]
    fn display_uses_the_currency_minor_unit() -> Result<(), DomainError> {
        assert_eq!(Money::parse(19_990_000, "USD")?.display(), "19.99 USD");
        assert_eq!(Money::parse(5_000_000, "EUR")?.display(), "5.00 EUR");
        assert_eq!(Money::parse(1_500_000_000, "JPY")?.display(), "1500 JPY");
        assert_eq!(Money::parse(1_234_567, "KWD")?.display(), "1.235 KWD");
        assert_eq!(Money::parse(0, "MXN")?.display(), "0.00 MXN");
        Ok(())
    }
}
