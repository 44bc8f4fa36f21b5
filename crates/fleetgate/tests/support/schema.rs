//! Validation of response bodies against the schemas of the official API description
//! (`shared/reference/spec-fixes/api-b2b.fixed.yaml`), taken from the file as they are.
//!
//! A schema `Name` is checked through a root document `{"$ref":
//! "#/components/schemas/Name", "components": <the spec's components>}`, so that every
//! reference inside the spec resolves where the spec puts it. OpenAPI 3.0 schemas follow
//! JSON Schema draft 4 (boolean `exclusiveMinimum`...); formats such as `date-time` are
//! checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};

/// The fixed official spec, relative to this crate.
const SPEC_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/spec-fixes/api-b2b.fixed.yaml"
);

/// Checks `instance` against `#/components/schemas/{name}`; panics listing every violation.
pub fn assert_valid(name: &str, instance: &Value) {
    let errors = violations(name, instance);
    assert!(
        errors.is_empty(),
        "body is not a valid {name}:\n  {}\nbody: {instance:#}",
        errors.join("\n  ")
    );
}

/// The violations of `#/components/schemas/{name}` by `instance`, one line each.
pub fn violations(name: &str, instance: &Value) -> Vec<String> {
    with_validator(name, |validator| {
        validator
            .iter_errors(instance)
            .map(|error| format!("{} (at '{}')", error, error.instance_path()))
            .collect()
    })
}

fn with_validator<T>(name: &str, use_it: impl FnOnce(&jsonschema::Validator) -> T) -> T {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
        OnceLock::new();

    let validators = VALIDATORS.get_or_init(Mutex::default);
    let validator = {
        let mut cache = validators.lock().expect("validator cache");
        let entry = cache.entry(name.to_owned());
        Arc::clone(entry.or_insert_with(|| Arc::new(build(name))))
    };
    use_it(&validator)
}

fn build(name: &str) -> jsonschema::Validator {
    let components = &spec()["components"];
    assert!(
        components["schemas"][name].is_object(),
        "the spec has no schema named {name}"
    );

    let root = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": components,
    });
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|error| panic!("the spec's {name} schema does not compile: {error}"))
}

/// The spec, parsed once per test binary.
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC_PATH)
            .unwrap_or_else(|error| panic!("read the official spec at {SPEC_PATH}: {error}"));
        serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|error| panic!("parse the official spec {SPEC_PATH}: {error}"))
    })
}

/// Reads a HAL collection from its `first` page (valid against `schema_name`) by following
/// `next` with `follow` to its end, checking every page against the schema and its paging
/// fields (`total`, `totalPage`, `currentPage`, `prev`/`next`, `page_size` items but on the
/// last); returns the items embedded as `name`.
pub fn walk_pages(
    first: Value,
    schema_name: &str,
    name: &str,
    page_size: usize,
    mut follow: impl FnMut(&Value) -> Value,
) -> Vec<Value> {
    let mut page = first;
    let total = page["total"].as_u64().expect("total") as usize;
    let pages = total.div_ceil(page_size).max(1);
    let mut items = Vec::new();
    for number in 1..=pages {
        assert_valid(schema_name, &page);
        assert_eq!(page["total"], total, "page {number}");
        assert_eq!(page["totalPage"], pages, "page {number}");
        assert_eq!(page["currentPage"], number, "page {number}");
        let links = page["_links"].as_object().expect("_links");
        assert_eq!(links.contains_key("prev"), number > 1, "prev on {number}");
        assert_eq!(
            links.contains_key("next"),
            number < pages,
            "next on {number}"
        );

        let embedded = page["_embedded"][name].as_array().expect("items").clone();
        let expected = page_size.min(total - (number - 1) * page_size);
        assert_eq!(embedded.len(), expected, "items of page {number}");
        items.extend(embedded);
        if number < pages {
            page = follow(&page["_links"]["next"]);
        }
    }
    assert_eq!(items.len(), total);
    items
}
