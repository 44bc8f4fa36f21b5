//! The subject part of the policy.
//!
//! Allowed attributes are C, ST, L, O, OU, CN and emailAddress, each at most once, one
//! per RDN, as PrintableString, UTF8String or IA5String, in any order (openssl writes C
//! first, keytool e-mail first). C, L, O, OU, CN and emailAddress are required, ST is
//! optional. Every subject problem is reported, not only the first.

use fleetgate_core::Login;
use rcgen::string::{Ia5String, PrintableString};
use rcgen::{DistinguishedName, DnType, DnValue};
use x509_parser::asn1_rs::Tag;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use super::rejection::{CsrField, CsrRejection};
use crate::countries;
use crate::dn;

/// The only organizational unit the platform accepts.
pub(crate) const PARTNERS_UNIT: &str = "Programs Partners";

/// The subject fields the policy knows, with their attribute type, in checking order.
const FIELDS: [(CsrField, &str); 7] = [
    (CsrField::Country, dn::COUNTRY),
    (CsrField::State, dn::STATE),
    (CsrField::Locality, dn::LOCALITY),
    (CsrField::Organization, dn::ORGANIZATION),
    (CsrField::OrganizationalUnit, dn::ORGANIZATIONAL_UNIT),
    (CsrField::CommonName, dn::COMMON_NAME),
    (CsrField::Email, dn::EMAIL),
];

/// What a request's subject holds once it passed the policy.
#[derive(Clone)]
pub(super) struct Subject {
    /// E.g. `C=FR, ST=Ile de France, ..., CN=MZP123456`, in the request's order.
    pub(super) readable: String,
    /// The DER of the subject, which issued certificates must repeat.
    pub(super) raw: Vec<u8>,
    /// The CN, equal to the partner's login.
    pub(super) common_name: String,
    /// The e-mail address.
    pub(super) email: String,
    /// The same subject, as the certificate library writes it.
    pub(super) carried: DistinguishedName,
}

/// One attribute of a known type.
struct Attribute<'n, 'a> {
    field: CsrField,
    source: &'n AttributeTypeAndValue<'a>,
}

/// The value of a field after the structural checks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// The field is not in the subject.
    Absent,
    /// The field is there once, as text.
    Present(String),
    /// The field is unusable and a problem was already recorded for it.
    Refused,
}

/// What was found and what is expected, when a value breaks a rule.
type Verdict = Result<(), (String, String)>;

/// Checks `name` against the policy for the partner `login`.
pub(super) fn check(name: &X509Name<'_>, login: &Login) -> Result<Subject, CsrRejection> {
    let login_text = login.as_str();
    let mut problems = Vec::new();

    let attributes = known_attributes(name, &mut problems);
    let values = field_values(&attributes, login_text, &mut problems);
    check_values(&values, login, &mut problems);
    let carried = carried_name(&attributes, login_text, &mut problems);

    if let Some(rejection) = CsrRejection::gather(problems) {
        return Err(rejection);
    }

    Ok(Subject {
        readable: dn::readable(name),
        raw: name.as_raw().to_vec(),
        common_name: present(&values, CsrField::CommonName),
        email: present(&values, CsrField::Email),
        carried,
    })
}

/// The attributes of known types; multi-valued RDNs and unknown types are problems.
fn known_attributes<'n, 'a>(
    name: &'n X509Name<'a>,
    problems: &mut Vec<CsrRejection>,
) -> Vec<Attribute<'n, 'a>> {
    let mut attributes = Vec::new();

    for rdn in name.iter() {
        if rdn.iter().count() != 1 {
            problems.push(multi_valued(&dn::readable_rdn(rdn)));
        }

        for source in rdn.iter() {
            let oid = source.attr_type().to_id_string();
            match FIELDS.iter().find(|(_, field_oid)| *field_oid == oid) {
                Some((field, _)) => attributes.push(Attribute {
                    field: *field,
                    source,
                }),
                None => problems.push(unknown_attribute(&oid)),
            }
        }
    }
    attributes
}

/// The value of every field, with duplicates and unaccepted string types as problems.
fn field_values(
    attributes: &[Attribute<'_, '_>],
    login: &str,
    problems: &mut Vec<CsrRejection>,
) -> Vec<(CsrField, Value)> {
    FIELDS
        .iter()
        .map(|(field, _)| {
            let of_field: Vec<_> = attributes.iter().filter(|a| a.field == *field).collect();
            let value = match of_field.as_slice() {
                [] => Value::Absent,
                [single] => text_value(single, login, problems),
                several => {
                    let found = format!("{} {} attributes", several.len(), field.code());
                    problems.push(CsrRejection::new(*field, found, "exactly one", login));
                    Value::Refused
                }
            };
            (*field, value)
        })
        .collect()
}

/// The text of an attribute, or a problem if its string type is not accepted.
fn text_value(
    attribute: &Attribute<'_, '_>,
    login: &str,
    problems: &mut Vec<CsrRejection>,
) -> Value {
    if let Some(text) = dn::accepted_text(attribute.source) {
        return Value::Present(text);
    }

    let found = format!("a value encoded as {}", dn::string_type(attribute.source));
    let expected = "a PrintableString, UTF8String or IA5String value";
    problems.push(CsrRejection::new(attribute.field, found, expected, login));
    Value::Refused
}

/// Applies each field's rule to its value.
fn check_values(values: &[(CsrField, Value)], login: &Login, problems: &mut Vec<CsrRejection>) {
    for (field, value) in values {
        let text = match value {
            Value::Refused => continue,
            Value::Absent => None,
            Value::Present(text) => Some(text.as_str()),
        };

        let verdict = match field {
            CsrField::Country => check_country(text),
            CsrField::State => check_state(text),
            CsrField::Locality => check_required(text, "L", "your city, e.g. Paris"),
            CsrField::Organization => check_required(text, "O", "your company's name"),
            CsrField::OrganizationalUnit => check_unit(text),
            CsrField::CommonName => check_common_name(text, login),
            _ => check_email(text),
        };

        if let Err((found, expected)) = verdict {
            problems.push(CsrRejection::new(*field, found, expected, login.as_str()));
        }
    }
}

/// The subject as the certificate library will write it, attribute for attribute.
fn carried_name(
    attributes: &[Attribute<'_, '_>],
    login: &str,
    problems: &mut Vec<CsrRejection>,
) -> DistinguishedName {
    let mut carried = DistinguishedName::new();

    for attribute in attributes {
        let Some(text) = dn::accepted_text(attribute.source) else {
            continue;
        };
        let Some(arcs) = attribute.source.attr_type().iter() else {
            continue;
        };
        let kind = DnType::from_oid(&arcs.collect::<Vec<u64>>());

        match carried_value(attribute.source.attr_value().tag(), &text) {
            Some(value) => carried.push(kind, value),
            None => problems.push(not_printable(attribute.field, &text, login)),
        }
    }
    carried
}

/// The value in the same string type; `None` if the text breaks the type's alphabet.
fn carried_value(tag: Tag, text: &str) -> Option<DnValue> {
    match tag {
        Tag::PrintableString => PrintableString::try_from(text)
            .ok()
            .map(DnValue::PrintableString),
        Tag::Ia5String => Ia5String::try_from(text).ok().map(DnValue::Ia5String),
        _ => Some(DnValue::Utf8String(text.to_owned())),
    }
}

fn check_country(text: Option<&str>) -> Verdict {
    const EXPECTED: &str = "two capital letters, an ISO 3166 country code such as FR";

    let Some(code) = text else {
        return Err(("no C attribute".to_owned(), EXPECTED.to_owned()));
    };
    let shaped = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase());
    if !shaped {
        return Err((quote(code), EXPECTED.to_owned()));
    }
    if let Some(official) = countries::official_for(code) {
        let found = format!("'{code}', which is reserved but not assigned");
        return Err((found, format!("the assigned ISO 3166 code, {official}")));
    }
    if !countries::is_assigned(code) {
        let found = format!("'{code}', which is not an ISO 3166 country code");
        return Err((found, EXPECTED.to_owned()));
    }
    Ok(())
}

fn check_state(text: Option<&str>) -> Verdict {
    match text {
        Some(state) if state.trim().is_empty() => Err((
            "an empty ST".to_owned(),
            "the name of your state or region, or no ST at all".to_owned(),
        )),
        _ => Ok(()),
    }
}

fn check_required(text: Option<&str>, code: &str, expected: &str) -> Verdict {
    match text {
        None => Err((format!("no {code} attribute"), expected.to_owned())),
        Some(value) if value.trim().is_empty() => {
            Err((format!("an empty {code}"), expected.to_owned()))
        }
        Some(_) => Ok(()),
    }
}

fn check_unit(text: Option<&str>) -> Verdict {
    let expected = format!("'{PARTNERS_UNIT}', exactly (two capital P, final s)");

    match text {
        Some(PARTNERS_UNIT) => Ok(()),
        Some(other) => Err((quote(other), expected)),
        None => Err(("no OU attribute".to_owned(), expected)),
    }
}

fn check_common_name(text: Option<&str>, login: &Login) -> Verdict {
    let own = login.as_str();

    match text {
        Some(name) if name == own => Ok(()),
        Some(name) if Login::parse(name).is_ok() => Err((
            format!("'{name}', which is the login of another partner"),
            format!("the login of the partner submitting the CSR, {own}"),
        )),
        Some(name) => Err((quote(name), format!("your login, {own}"))),
        None => Err(("no CN attribute".to_owned(), format!("your login, {own}"))),
    }
}

fn check_email(text: Option<&str>) -> Verdict {
    let expected = "the address that will receive the certificate, e.g. it@partner.com";

    match text {
        Some(address) if plausible_email(address) => Ok(()),
        Some(address) => Err((
            format!("{}, which is not an e-mail address", quote(address)),
            expected.to_owned(),
        )),
        None => Err(("no e-mail address".to_owned(), expected.to_owned())),
    }
}

/// `local@domain.tld` in ASCII, without spaces or characters that need quoting.
fn plausible_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };

    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_graphic() && !"@()<>[]:;,\\\"".contains(c));

    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2 && labels.iter().all(|label| dns_label(label));

    address.len() <= 254 && local_ok && domain_ok
}

fn dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The text of a present field (empty if absent, which `check` has refused already).
fn present(values: &[(CsrField, Value)], field: CsrField) -> String {
    values
        .iter()
        .find_map(|(f, value)| match value {
            Value::Present(text) if *f == field => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A value between quotes, control characters replaced and cut to 80 characters.
fn quote(value: &str) -> String {
    let mut shown: String = value
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().count() > 80 {
        shown.push_str("...");
    }
    format!("'{shown}'")
}

fn multi_valued(rdn: &str) -> CsrRejection {
    CsrRejection::with_fixes(
        CsrField::Encoding,
        format!("several attributes joined in one RDN ({rdn})"),
        "one attribute per RDN",
        "use the guide's CSRConfig.conf and command, without -multivalue-rdn or '+' in -subj",
        "separate the attributes of -dname with commas, not '+'",
    )
}

fn unknown_attribute(oid: &str) -> CsrRejection {
    let name = dn::short_name(oid).map_or_else(|| oid.to_owned(), |n| format!("{n} ({oid})"));
    CsrRejection::with_fixes(
        CsrField::Encoding,
        format!("a {name} attribute in the subject"),
        "only C, ST, L, O, OU, CN and emailAddress in the subject",
        "use the guide's CSRConfig.conf unchanged: it asks for these seven fields only",
        "write only CN, OU, O, L, ST, C and email in -dname",
    )
}

fn not_printable(field: CsrField, text: &str, login: &str) -> CsrRejection {
    let found = format!(
        "{} as a PrintableString or IA5String it cannot hold",
        quote(text)
    );
    let expected = "characters the value's string type allows";
    CsrRejection::new(field, found, expected, login)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_emails() {
        for good in [
            "it@partner.com",
            "first.last+fleet@mail.partner.co.uk",
            "a@b.fr",
        ] {
            assert!(plausible_email(good), "{good}");
        }
        for bad in [
            "",
            "it",
            "it@",
            "@partner.com",
            "it@partner",
            "it@@partner.com",
            "i t@p.com",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
        assert!(!plausible_email("it@-partner.com"));
        assert!(!plausible_email("it@partner..com"));
    }

    #[test]
    fn country_rule() {
        assert_eq!(check_country(Some("FR")), Ok(()));
        assert!(check_country(Some("France")).is_err());
        assert!(check_country(Some("fr")).is_err());
        assert!(check_country(Some("XX")).is_err());
        assert!(check_country(None).is_err());

        let (found, expected) = check_country(Some("UK")).expect_err("reserved");
        assert!(found.contains("'UK'"));
        assert!(expected.contains("GB"));
    }

    #[test]
    fn unit_rule_quotes_what_was_found() {
        assert_eq!(check_unit(Some("Programs Partners")), Ok(()));

        let (found, expected) = check_unit(Some("Programs Partner")).expect_err("refused");

        assert_eq!(found, "'Programs Partner'");
        assert!(expected.contains("'Programs Partners'"));
        assert!(check_unit(Some("programs partners")).is_err());
        assert!(check_unit(None).is_err());
    }

    #[test]
    fn common_name_rule_tells_another_login_from_garbage() {
        let login = Login::parse("MZP123456").expect("login");

        assert_eq!(check_common_name(Some("MZP123456"), &login), Ok(()));

        let (other, _) = check_common_name(Some("MZP999"), &login).expect_err("other");
        assert!(other.contains("another partner"), "{other}");
        let (garbage, expected) = check_common_name(Some("MZPXXXX"), &login).expect_err("bad");
        assert_eq!(garbage, "'MZPXXXX'");
        assert!(expected.contains("MZP123456"));
    }

    #[test]
    fn state_is_optional_but_not_empty_and_locality_required() {
        assert_eq!(check_state(None), Ok(()));
        assert!(check_state(Some(" ")).is_err());
        assert!(check_required(None, "L", "city").is_err());
        assert!(check_required(Some(""), "L", "city").is_err());
        assert_eq!(check_required(Some("Paris"), "L", "city"), Ok(()));
    }

    #[test]
    fn quote_cuts_long_values_and_hides_control_characters() {
        assert_eq!(quote("a\nb"), "'a?b'");
        assert_eq!(quote(&"x".repeat(100)).len(), 80 + 2 + 3);
    }
}
