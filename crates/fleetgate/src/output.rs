//! Printing results: one JSON document with `--json`, text for people otherwise.

use serde::Serialize;

/// Prints `value` as JSON when `json` is set, else the text `human` builds.
pub fn print<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", human());
    }
    Ok(())
}
