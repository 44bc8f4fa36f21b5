//! Distinguished names: the attribute types the policy knows, the text of attribute
//! values, and a readable RFC 4514-like rendering that keeps the DER order.

use x509_parser::asn1_rs::Tag;
use x509_parser::x509::{AttributeTypeAndValue, RelativeDistinguishedName, X509Name};

/// `countryName`.
pub(crate) const COUNTRY: &str = "2.5.4.6";
/// `stateOrProvinceName`.
pub(crate) const STATE: &str = "2.5.4.8";
/// `localityName`.
pub(crate) const LOCALITY: &str = "2.5.4.7";
/// `organizationName`.
pub(crate) const ORGANIZATION: &str = "2.5.4.10";
/// `organizationalUnitName`.
pub(crate) const ORGANIZATIONAL_UNIT: &str = "2.5.4.11";
/// `commonName`.
pub(crate) const COMMON_NAME: &str = "2.5.4.3";
/// PKCS#9 `emailAddress`, what openssl's `emailAddress` and keytool's `email=` write.
pub(crate) const EMAIL: &str = "1.2.840.113549.1.9.1";

/// The usual short name of an attribute type, if it has one.
pub(crate) fn short_name(oid: &str) -> Option<&'static str> {
    let name = match oid {
        COUNTRY => "C",
        STATE => "ST",
        LOCALITY => "L",
        ORGANIZATION => "O",
        ORGANIZATIONAL_UNIT => "OU",
        COMMON_NAME => "CN",
        EMAIL => "emailAddress",
        "2.5.4.5" => "serialNumber",
        "2.5.4.9" => "STREET",
        "2.5.4.12" => "title",
        "2.5.4.17" => "postalCode",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => return None,
    };
    Some(name)
}

/// The ASN.1 name of the string type of an attribute value.
pub(crate) fn string_type(attribute: &AttributeTypeAndValue<'_>) -> &'static str {
    match attribute.attr_value().tag() {
        Tag::PrintableString => "PrintableString",
        Tag::Utf8String => "UTF8String",
        Tag::Ia5String => "IA5String",
        Tag::BmpString => "BMPString",
        Tag::T61String => "TeletexString",
        Tag::UniversalString => "UniversalString",
        Tag::NumericString => "NumericString",
        _ => "non-string value",
    }
}

/// The text of a value of one of the types the policy accepts (PrintableString,
/// UTF8String, IA5String); `None` for any other type.
pub(crate) fn accepted_text(attribute: &AttributeTypeAndValue<'_>) -> Option<String> {
    let accepted = matches!(
        attribute.attr_value().tag(),
        Tag::PrintableString | Tag::Utf8String | Tag::Ia5String
    );
    if !accepted {
        return None;
    }
    attribute.as_str().ok().map(str::to_owned)
}

/// The subject or issuer as text, e.g. `C=FR, O=Free2Move, CN=MZP123456`, in DER order.
pub(crate) fn readable(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name.iter().map(readable_rdn).collect();
    rdns.join(", ")
}

/// One RDN as text, its attributes joined with `+`.
pub(crate) fn readable_rdn(rdn: &RelativeDistinguishedName<'_>) -> String {
    let parts: Vec<String> = rdn.iter().map(readable_attribute).collect();
    parts.join("+")
}

/// `type=value`, with the value escaped, or `#hex` when it is not text.
fn readable_attribute(attribute: &AttributeTypeAndValue<'_>) -> String {
    let oid = attribute.attr_type().to_id_string();
    let name = short_name(&oid).map_or(oid.clone(), str::to_owned);

    match attribute.as_str() {
        Ok(text) => format!("{name}={}", escape(text)),
        Err(_) => format!("{name}=#{}", hex::encode(attribute.as_slice())),
    }
}

/// Escapes a value as RFC 4514 asks.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut escaped = String::with_capacity(value.len());

    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\');
        let edge = (index == 0 && matches!(c, ' ' | '#')) || (index == last && c == ' ');
        if c == '\0' {
            escaped.push_str("\\00");
            continue;
        }
        if special || edge {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_follows_rfc_4514() {
        assert_eq!(escape("Free2Move"), "Free2Move");
        assert_eq!(escape("Smith, Jones"), "Smith\\, Jones");
        assert_eq!(escape(" lead#"), "\\ lead#");
        assert_eq!(escape("#x "), "\\#x\\ ");
        assert_eq!(escape("a+b=c"), "a\\+b=c");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn short_names_cover_the_policy_attributes() {
        for (oid, name) in [
            (COUNTRY, "C"),
            (STATE, "ST"),
            (LOCALITY, "L"),
            (ORGANIZATION, "O"),
            (ORGANIZATIONAL_UNIT, "OU"),
            (COMMON_NAME, "CN"),
            (EMAIL, "emailAddress"),
        ] {
            assert_eq!(short_name(oid), Some(name));
        }
        assert_eq!(short_name("1.2.3"), None);
    }
}
