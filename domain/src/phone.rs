//! Phone numbers, always stored in E.164 (`+14155550123`). Parsing and validation use
//! libphonenumber's metadata through the `phonenumber` crate.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A valid phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses `input` (international `+…` form, or national form when `default_region` — an
    /// ISO-3166 alpha-2 code such as `"US"` — is given) and checks it is a valid number.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, DomainError> {
        let invalid = |reason: &str| DomainError::InvalidPhone {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("empty"));
        }
        if trimmed.len() > 32 {
            return Err(invalid("too long"));
        }
        let region = match default_region {
            Some(code) => {
                Some(parse_region(code).ok_or_else(|| invalid("unknown default region"))?)
            }
            None => None,
        };
        if region.is_none() && !trimmed.starts_with('+') {
            return Err(invalid(
                "use the international form starting with + and the country code",
            ));
        }
        let parsed = phonenumber::parse(region, trimmed).map_err(|e| invalid(&e.to_string()))?;
        if !phonenumber::is_valid(&parsed) {
            return Err(invalid("not a valid number for its country"));
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// The number behind a platform's phone identity (a WhatsApp `wa_id`: the E.164 digits
    /// without `+`; a leading `+` is accepted too). The platform has already proved the number
    /// belongs to the person (WhatsApp registers by SMS), so — unlike [`PhoneNumber::parse`] for
    /// what a person types — a number whose country code is known but whose range is missing
    /// from libphonenumber's metadata (new ranges reach the metadata late) is still kept in
    /// E.164: the identity *is* the number, and dropping it left such leads without a phone.
    /// Anything that is not 7 to 15 digits behind a known country code is refused.
    pub fn from_platform_identity(id: &str) -> Result<Self, DomainError> {
        let invalid = |reason: &str| DomainError::InvalidPhone {
            input: id.to_owned(),
            reason: reason.to_owned(),
        };
        let digits = id.trim();
        let digits = digits.strip_prefix('+').unwrap_or(digits);
        if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("a phone identity is 7 to 15 digits"));
        }
        if digits.starts_with('0') {
            return Err(invalid("a country code never starts with 0"));
        }
        let international = format!("+{digits}");
        if let Ok(valid) = Self::parse(&international, None) {
            return Ok(valid);
        }
        let parsed =
            phonenumber::parse(None, &international).map_err(|e| invalid(&e.to_string()))?;
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// Checks an ISO-3166 alpha-2 region code that phone numbers can be read with (a tenant's
    /// default region) and returns it upper-cased.
    pub fn check_region(code: &str) -> Result<String, DomainError> {
        let code = code.trim().to_ascii_uppercase();
        match parse_region(&code) {
            Some(_) if code.len() == 2 => Ok(code),
            _ => Err(DomainError::OutOfRange {
                field: "defaultPhoneRegion",
                message: format!("{code:?} is not an ISO-3166 alpha-2 region with phone numbering, e.g. US or MX"),
            }),
        }
    }

    /// The E.164 string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn parse_region(code: &str) -> Option<phonenumber::country::Id> {
    code.trim().to_ascii_uppercase().parse().ok()
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_normalised_to_e164() {
        let cases = [
            ("+1 415 555 2671", None, "+14155552671"),
            ("(415) 555-2671", Some("US"), "+14155552671"),
            ("+52 55 1234 5678", None, "+525512345678"),
            ("+44 20 7946 0958", None, "+442079460958"),
        ];
        for (input, region, want) in cases {
            assert_eq!(
                PhoneNumber::parse(input, region).map(|p| p.0),
                Ok(want.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn bad_numbers_are_refused() {
        for input in [
            "",
            "hello",
            "+1 555",
            "4155552671",
            "+999 1234 5678",
            "+1 415 555 2671 ext 99999999999999999999",
        ] {
            assert!(
                PhoneNumber::parse(input, None).is_err(),
                "{input} should be refused"
            );
        }
        assert!(PhoneNumber::parse("4155552671", Some("ZZ")).is_err());
    }

    #[test]
    fn platform_identities_keep_their_number_even_outside_the_metadata() {
        // Valid numbers come out exactly as `parse` gives them.
        assert_eq!(
            PhoneNumber::from_platform_identity("447911123456").map(|p| p.0),
            Ok("+447911123456".to_owned())
        );
        assert_eq!(
            PhoneNumber::from_platform_identity("+525512345678").map(|p| p.0),
            Ok("+525512345678".to_owned())
        );
        // A known country code with a range `parse` refuses: still the person's number.
        assert!(PhoneNumber::parse("+15550100123", None).is_err());
        assert_eq!(
            PhoneNumber::from_platform_identity("15550100123").map(|p| p.0),
            Ok("+15550100123".to_owned())
        );
        for bad in [
            "",
            "abc",
            "123",
            "0447911123456",
            "9991234567",
            "1234567890123456",
            "44 7911 123456",
        ] {
            assert!(
                PhoneNumber::from_platform_identity(bad).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn regions_are_checked_and_normalised() {
        assert_eq!(PhoneNumber::check_region(" mx "), Ok("MX".to_owned()));
        for bad in ["", "ZZ", "USA", "M", "42"] {
            assert!(PhoneNumber::check_region(bad).is_err(), "{bad}");
        }
    }
}
