//! ISO 3166-1 alpha-2 country codes, for the `C` attribute of a partner's CSR.
//!
//! The 249 officially assigned codes. `UK` and `EL` are only reserved (the official codes
//! of the United Kingdom and Greece are `GB` and `GR`), so they are refused.

/// The officially assigned ISO 3166-1 alpha-2 codes, sorted.
const CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code (upper case).
pub(crate) fn is_assigned(code: &str) -> bool {
    CODES.binary_search(&code).is_ok()
}

/// The assigned code people commonly mean when they write a reserved one.
pub(crate) fn official_for(code: &str) -> Option<&'static str> {
    match code {
        "UK" => Some("GB"),
        "EL" => Some("GR"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_unique_and_two_capital_letters() {
        assert!(CODES.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(CODES
            .iter()
            .all(|code| code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn known_codes_are_assigned_and_others_not() {
        for code in [
            "FR", "DE", "GB", "US", "ES", "IT", "CH", "BE", "MA", "CN", "SS", "XK",
        ] {
            assert_eq!(is_assigned(code), code != "XK", "{code}");
        }
        for code in ["UK", "EL", "EU", "XX", "fr", "F", "FRA", ""] {
            assert!(!is_assigned(code), "{code}");
        }
        assert_eq!(official_for("UK"), Some("GB"));
        assert_eq!(official_for("FR"), None);
    }
}
