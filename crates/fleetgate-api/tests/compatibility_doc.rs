//! Keeps the operation table of the gateway and `docs/compatibility.md` true to the official
//! specification: same 47 operations, same methods and paths, and a documented status that
//! matches what the server serves.

use std::path::PathBuf;

use fleetgate_api::psa::operations;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(METHOD, path, operationId)` of every operation in the official specification.
fn spec_operations() -> Vec<(String, String, String)> {
    let path = workspace_root().join("../shared/reference/spec-fixes/api-b2b.fixed.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the specification {}: {e}", path.display()));
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("the spec is YAML");

    let mut found = Vec::new();
    let paths = spec["paths"].as_mapping().expect("the spec has paths");
    for (path, item) in paths {
        let path = path.as_str().expect("paths are strings");
        for method in ["get", "post", "put", "delete", "patch"] {
            if let Some(operation) = item.get(method) {
                let id = operation["operationId"]
                    .as_str()
                    .expect("every operation has an id");
                found.push((method.to_uppercase(), path.to_owned(), id.to_owned()));
            }
        }
    }
    found
}

#[test]
fn gateway_table_lists_exactly_the_operations_of_the_spec() {
    let mut spec = spec_operations();
    let mut table: Vec<_> = operations::all()
        .into_iter()
        .map(|op| {
            (
                op.method.to_string(),
                op.path.to_owned(),
                op.operation_id.to_owned(),
            )
        })
        .collect();

    assert_eq!(spec.len(), 47, "the reference spec has 47 operations");
    spec.sort();
    table.sort();
    assert_eq!(table, spec);
}

#[test]
fn compatibility_doc_has_one_true_row_per_operation() {
    let doc = std::fs::read_to_string(workspace_root().join("docs/compatibility.md"))
        .expect("docs/compatibility.md exists");

    for operation in operations::all() {
        let needle = format!("| `{}` |", operation.operation_id);
        let rows: Vec<_> = doc.lines().filter(|line| line.contains(&needle)).collect();
        assert_eq!(
            rows.len(),
            1,
            "{} must have exactly one row",
            operation.operation_id
        );

        let row = rows[0];
        let cells: Vec<_> = row.split('|').map(str::trim).collect();
        assert_eq!(
            cells[3],
            operation.method.as_str(),
            "method of {}",
            operation.operation_id
        );
        assert_eq!(
            cells[4],
            format!("`{}`", operation.path),
            "path of {}",
            operation.operation_id
        );

        let expected = if operation.served {
            "served"
        } else {
            "not yet (501)"
        };
        assert_eq!(cells[5], expected, "status of {}", operation.operation_id);
    }
}
