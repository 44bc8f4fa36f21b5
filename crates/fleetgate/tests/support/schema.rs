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
