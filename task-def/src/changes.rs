//! What differs between two task definitions, field by field with their values, for a plan:
//! `memory: "512" -> "1024"`, `container_definitions["blog"].image: "a:v1" -> "a:v2"`.
//!
//! Both sides are compared in their JSON form (the ECS API's field names inside a
//! container), lists of named things (containers, volumes, environment variables) by name.

use serde_json::Value;

/// One leaf that differs: its path, the value found (`None`: absent) and the value wanted.
pub(crate) type FieldChange = (String, Option<String>, Option<String>);

/// The leaves of `found` and `wanted` that differ, in a stable order, with paths under
/// `path`.
pub(crate) fn leaf_changes(path: &str, found: &Value, wanted: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(path, found, wanted, &mut out);
    out
}

fn walk(path: &str, found: &Value, wanted: &Value, out: &mut Vec<FieldChange>) {
    if found == wanted {
        return;
    }
    match (found, wanted) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let null = Value::Null;
                let (x, y) = (a.get(k).unwrap_or(&null), b.get(k).unwrap_or(&null));
                walk(&join(path, k), x, y, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if named(a) && named(b) => {
            let mut names: Vec<&str> = a.iter().chain(b.iter()).filter_map(name).collect();
            names.sort_unstable();
            names.dedup();
            for n in names {
                let null = Value::Null;
                let pick = |list: &'_ [Value]| list.iter().find(|v| name(v) == Some(n)).cloned();
                let (x, y) = (pick(a), pick(b));
                walk(
                    &format!("{path}[{n:?}]"),
                    x.as_ref().unwrap_or(&null),
                    y.as_ref().unwrap_or(&null),
                    out,
                );
            }
        }
        _ => out.push((path.to_owned(), shown(found), shown(wanted))),
    }
}

fn join(path: &str, key: &str) -> String {
    match path.is_empty() {
        true => key.to_owned(),
        false => format!("{path}.{key}"),
    }
}

/// A list whose items are objects that each carry a distinct `name`.
fn named(list: &[Value]) -> bool {
    let names: Vec<&str> = list.iter().filter_map(name).collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    names.len() == list.len() && unique.len() == names.len()
}

fn name(v: &Value) -> Option<&str> {
    v.get("name").and_then(Value::as_str)
}

/// A value as the plan shows it: a string as itself, anything else as compact JSON; an
/// absent one as none.
fn shown(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_show_their_values_and_named_lists_go_by_name() {
        let found = json!({
            "memory": "512",
            "containers": [{"name": "blog", "image": "a:v1", "environment": [
                {"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}],
        });
        let wanted = json!({
            "memory": "1024",
            "containers": [{"name": "blog", "image": "a:v2", "environment": [
                {"name": "A", "value": "1"}, {"name": "C", "value": "3"}]}],
        });
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            leaf_changes("", &found, &wanted),
            [
                (
                    r#"containers["blog"].environment["B"]"#.to_owned(),
                    s(r#"{"name":"B","value":"2"}"#),
                    None
                ),
                (
                    r#"containers["blog"].environment["C"]"#.to_owned(),
                    None,
                    s(r#"{"name":"C","value":"3"}"#)
                ),
                (
                    r#"containers["blog"].image"#.to_owned(),
                    s("a:v1"),
                    s("a:v2")
                ),
                ("memory".to_owned(), s("512"), s("1024")),
            ]
        );
    }

    #[test]
    fn lists_without_names_are_compared_whole() {
        let found = json!({"requires": ["EC2"]});
        let wanted = json!({"requires": ["EC2", "FARGATE"]});
        assert_eq!(
            leaf_changes("", &found, &wanted),
            [(
                "requires".to_owned(),
                Some(r#"["EC2"]"#.to_owned()),
                Some(r#"["EC2","FARGATE"]"#.to_owned())
            )]
        );
    }
}
