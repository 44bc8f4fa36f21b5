//! Query parameters of the PSA operations, read from the raw query string.
//!
//! The specification's array parameters use the OpenAPI default (`form`, exploded:
//! `extension=a&extension=b`); a comma-separated list is accepted too. A single-valued
//! parameter given twice is an error. Unknown parameters are ignored, as tolerant readers do.

use crate::error::ApiError;

/// The decoded query string of a request.
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Decodes a raw query string.
    pub fn parse(query: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self { pairs }
    }

    /// A parameter that may appear at most once.
    pub fn single(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ApiError::parameter(format!(
                "{name} must be given at most once"
            )));
        }
        Ok(first)
    }

    /// An array parameter: every occurrence, each split on commas, empty items dropped.
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The pairs that define a query's results, for its page-token fingerprint: every
    /// parameter except the paging ones and the `client_id`, in order.
    pub fn filter_pairs(&self) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "pageToken" | "pageSize" | "client_id"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// The pairs to carry into links: every parameter except the paging ones.
    pub fn kept_for_links(&self) -> Vec<(&str, &str)> {
        self.pairs
            .iter()
            .filter(|(k, _)| k != "pageToken")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// `locale`: a language, optionally with a country (`fr`, `fr-FR`, `fr_FR`).
pub fn locale(params: &QueryParams) -> Result<Option<String>, ApiError> {
    let Some(value) = params.single("locale")? else {
        return Ok(None);
    };
    let mut parts = value.split(['-', '_']);
    let language = parts.next().unwrap_or("");
    let region = parts.next();
    let valid = (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && region.is_none_or(|r| {
            (2..=3).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric())
        })
        && parts.next().is_none();
    if !valid {
        return Err(ApiError::parameter(format!(
            "locale '{value}' is not a locale: expected a language code, optionally with a \
             country, e.g. fr or fr-FR"
        )));
    }
    Ok(Some(value.to_owned()))
}

/// `vinPrefix`: up to 17 VIN characters.
pub fn vin_prefix(params: &QueryParams) -> Result<Option<String>, ApiError> {
    let Some(value) = params.single("vinPrefix")? else {
        return Ok(None);
    };
    let valid_char =
        |c: char| (c.is_ascii_digit() || c.is_ascii_uppercase()) && !matches!(c, 'I' | 'O' | 'Q');
    if value.is_empty() || value.len() > 17 || !value.chars().all(valid_char) {
        return Err(ApiError::parameter(format!(
            "vinPrefix '{value}' is not the start of a VIN: expected 1 to 17 digits or capital \
             letters other than I, O and Q"
        )));
    }
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_accept_repeated_and_comma_forms() {
        let params = QueryParams::parse(Some("extension=branding&extension=pictures,branding"));
        assert_eq!(
            params.list("extension"),
            ["branding", "pictures", "branding"]
        );
    }

    #[test]
    fn single_parameters_given_twice_are_refused() {
        let params = QueryParams::parse(Some("vinPrefix=VF3&vinPrefix=VR1"));
        assert!(params.single("vinPrefix").is_err());
    }

    #[test]
    fn locale_and_vin_prefix_are_checked() {
        let ok = QueryParams::parse(Some("locale=fr-FR&vinPrefix=VF3"));
        assert_eq!(locale(&ok).unwrap().as_deref(), Some("fr-FR"));
        assert_eq!(vin_prefix(&ok).unwrap().as_deref(), Some("VF3"));

        let bad = QueryParams::parse(Some("locale=french!&vinPrefix=vf3"));
        assert!(locale(&bad).is_err());
        assert!(vin_prefix(&bad).is_err());
    }
}
