//! Container definitions as JSON: the document `aws ecs register-task-definition` and
//! Terraform's `container_definitions` take, optionally a template with `${name}` variables
//! as Terraform's `template_file` fills them.

use std::collections::{BTreeMap, BTreeSet};

use converge::Invalid;
use serde_json::Value;

use crate::container::ContainerDefinition;

/// Reads a JSON array of container definitions. An unknown field or a wrong type is an error
/// naming its JSON path, e.g. `[0].portMappings[0].containerPort`. `null` reads as absent, as
/// ECS reads it.
pub fn from_json(json: &str) -> Result<Vec<ContainerDefinition>, Invalid> {
    let value: Value = serde_json::from_str(json).map_err(|err| syntax(&err))?;
    from_value(value)
}

/// Reads a JSON template: each `${name}` is replaced by `variables[name]` (JSON-escaped
/// inside a string, as is outside one, so `"containerPort": ${port}` works), `$${` stands for
/// a literal `${`. A variable the template uses but `variables` lacks, and one `variables` has
/// but the template never uses, are errors; all are reported at once.
pub fn from_template<K, V>(
    template: &str,
    variables: impl IntoIterator<Item = (K, V)>,
) -> Result<Vec<ContainerDefinition>, Invalid>
where
    K: Into<String>,
    V: Into<String>,
{
    let variables: BTreeMap<String, String> = variables
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let filled = fill(template, &variables);
    let value: Value = serde_json::from_str(&filled.text).map_err(|err| syntax(&err))?;

    let mut invalid = Invalid::new();
    for name in &filled.unknown {
        let mut paths = Vec::new();
        find_placeholder(&value, &format!("${{{name}}}"), String::new(), &mut paths);
        let known: Vec<_> = variables.keys().map(String::as_str).collect();
        let rule = format!(
            "uses ${{{name}}}, which is not a variable (variables: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
        for path in paths {
            invalid.push(path, &rule);
        }
    }
    for name in variables.keys().filter(|k| !filled.used.contains(*k)) {
        invalid.push(format!("variables.{name}"), "is not used by the template");
    }
    invalid.into_result(())?;
    from_value(value)
}

/// Writes container definitions as the JSON ECS takes, pretty-printed.
pub fn to_json(containers: &[ContainerDefinition]) -> String {
    serde_json::to_string_pretty(containers).expect("container definitions always serialize")
}

fn from_value(mut value: Value) -> Result<Vec<ContainerDefinition>, Invalid> {
    strip_nulls(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let mut invalid = Invalid::new();
        let path = err.path().to_string();
        invalid.push(path, err.into_inner());
        invalid
    })
}

fn syntax(err: &serde_json::Error) -> Invalid {
    let mut invalid = Invalid::new();
    invalid.push(
        format!("line {} column {}", err.line(), err.column()),
        format_args!("is not JSON: {err}"),
    );
    invalid
}

/// `null` means absent to ECS; dropping it keeps `"memoryReservation": null` readable into
/// an `Option` and an unknown field set to `null` still an error.
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

struct Filled {
    text: String,
    used: BTreeSet<String>,
    unknown: BTreeSet<String>,
}

/// Replaces the variables, tracking whether each sits inside a JSON string.
fn fill(template: &str, variables: &BTreeMap<String, String>) -> Filled {
    let mut out = String::with_capacity(template.len());
    let (mut used, mut unknown) = (BTreeSet::new(), BTreeSet::new());
    let mut in_string = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("${") {
            if let Some(end) = after.find('}') {
                let name = &after[..end];
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    match variables.get(name) {
                        Some(value) if in_string => {
                            let quoted = serde_json::to_string(value).expect("strings serialize");
                            out.push_str(&quoted[1..quoted.len() - 1]);
                        }
                        Some(value) => out.push_str(value),
                        // Left as a string, so the document still parses and the placeholder
                        // can be found by its JSON path.
                        None if in_string => out.push_str(&format!("${{{name}}}")),
                        None => out.push_str(&format!("\"${{{name}}}\"")),
                    }
                    if variables.contains_key(name) {
                        used.insert(name.to_owned());
                    } else {
                        unknown.insert(name.to_owned());
                    }
                    rest = &after[end + 1..];
                    continue;
                }
            }
        }
        if in_string && c == '\\' {
            // An escape: copy it and the escaped character as they are.
            let mut chars = rest.chars();
            out.push(chars.next().expect("backslash"));
            if let Some(escaped) = chars.next() {
                out.push(escaped);
            }
            rest = chars.as_str();
            continue;
        }
        if c == '"' {
            in_string = !in_string;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Filled {
        text: out,
        used,
        unknown,
    }
}

/// The JSON paths of the strings that contain `needle`, in serde_path_to_error's notation.
fn find_placeholder(value: &Value, needle: &str, path: String, found: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains(needle) => found.push(if path.is_empty() {
            ".".to_owned()
        } else {
            path
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_placeholder(item, needle, format!("{path}[{i}]"), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                find_placeholder(item, needle, path, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blog post's container definition template (npalm/terraform-aws-ecs-service's
    /// `test/task-definition/blog.json`), with its five variables.
    pub(crate) const BLOG_TEMPLATE: &str = r#"[
  {
    "essential": true,
    "memoryReservation": null,
    "image": "npalm/040code.github.io:latest",
    "name": "${container_name}",
    "portMappings": [
      {
        "hostPort": ${container_port},
        "protocol": "tcp",
        "containerPort": ${container_port}
      }
    ],
    "environment": [],
    "logConfiguration": {
      "logDriver": "awslogs",
      "options": {
        "awslogs-group": "${log_group_name}",
        "awslogs-region": "${log_group_region}",
        "awslogs-stream-prefix": "${log_group_prefix}"
      }
    }
  }
]
"#;

    fn blog_variables() -> Vec<(&'static str, &'static str)> {
        vec![
            ("container_name", "blog"),
            ("container_port", "80"),
            ("log_group_name", "blog"),
            ("log_group_region", "us-east-1"),
            ("log_group_prefix", "blog"),
        ]
    }

    /// ECS reads `null` and `[]` as absent; the comparison does too.
    fn absent_dropped(mut value: Value) -> Value {
        strip_nulls(&mut value);
        fn drop_empty(v: &mut Value) {
            match v {
                Value::Object(map) => {
                    map.retain(|_, v| !matches!(v, Value::Array(a) if a.is_empty()));
                    map.values_mut().for_each(drop_empty);
                }
                Value::Array(items) => items.iter_mut().for_each(drop_empty),
                _ => {}
            }
        }
        drop_empty(&mut value);
        value
    }

    #[test]
    fn the_blog_template_reads_and_round_trips() {
        let containers = from_template(BLOG_TEMPLATE, blog_variables()).unwrap();
        assert_eq!(containers.len(), 1);
        let c = &containers[0];
        assert_eq!(c.name, "blog");
        assert_eq!(c.image, "npalm/040code.github.io:latest");
        assert_eq!(c.essential, Some(true));
        assert_eq!(c.port_mappings[0].host_port, Some(80));
        assert_eq!(c.memory_reservation, None);
        assert_eq!(c.port_mappings[0].container_port, 80);
        let logs = c.log_configuration.as_ref().unwrap();
        assert_eq!(logs.options["awslogs-region"], "us-east-1");
        assert_eq!(logs.options["awslogs-stream-prefix"], "blog");
        assert!(c.environment.is_empty());

        // Written back, it is the filled-in document, but for what ECS reads as absent.
        let written: Value = serde_json::from_str(&to_json(&containers)).unwrap();
        let variables = blog_variables()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let filled: Value = serde_json::from_str(&fill(BLOG_TEMPLATE, &variables).text).unwrap();
        assert_eq!(written, absent_dropped(filled));
        assert_eq!(from_json(&to_json(&containers)).unwrap(), containers);
    }

    #[test]
    fn unknown_and_unused_variables_name_their_place() {
        let mut vars = blog_variables();
        vars.retain(|(k, _)| *k != "log_group_region" && *k != "container_port");
        vars.push(("cpu", "256"));
        let err = from_template(BLOG_TEMPLATE, vars).unwrap_err();
        let found: Vec<_> = err
            .problems
            .iter()
            .map(|p| (p.field.as_str(), p.rule.as_str()))
            .collect();
        assert_eq!(found.len(), 4, "{err}");
        assert_eq!(found[0].0, "[0].portMappings[0].hostPort");
        assert_eq!(found[1].0, "[0].portMappings[0].containerPort");
        assert!(found[0].1.starts_with(
            "uses ${container_port}, which is not a variable (variables: container_name, cpu, log_group_name"
        ));
        assert_eq!(found[2].0, "[0].logConfiguration.options.awslogs-region");
        assert_eq!(found[3], ("variables.cpu", "is not used by the template"));
    }

    #[test]
    fn unknown_fields_and_wrong_types_name_the_json_path() {
        let err = from_json(
            r#"[{"name": "a", "image": "b", "portMappings": [{"containerPort": "80"}]}]"#,
        )
        .unwrap_err();
        assert_eq!(err.problems[0].field, "[0].portMappings[0].containerPort");
        assert!(
            err.problems[0]
                .rule
                .starts_with("invalid type: string \"80\", expected i32"),
            "{err}"
        );

        let err =
            from_json(r#"[{"name": "a", "image": "b", "memoryReservaton": 128}]"#).unwrap_err();
        assert_eq!(err.problems[0].field, "[0].memoryReservaton");
        assert!(
            err.problems[0]
                .rule
                .starts_with("unknown field `memoryReservaton`"),
            "{err}"
        );

        let err = from_json(r#"[{"name": "a", "image": "b",}]"#).unwrap_err();
        assert_eq!(err.problems[0].field, "line 1 column 29");
    }

    #[test]
    fn values_are_escaped_inside_strings_and_dollars_can_be_literal() {
        let containers = from_template(
            r#"[{"name": "a", "image": "b", "command": ["echo", "${greeting}", "$${HOME}"]}]"#,
            [("greeting", "say \"hi\"")],
        )
        .unwrap();
        assert_eq!(containers[0].command, ["echo", "say \"hi\"", "${HOME}"]);
    }

    /// A Terraform `container_definitions` with every setting beyond the blog's: a hardened
    /// app that logs through a FireLens router, in the shape `aws ecs describe-task-definition`
    /// prints (`null`s and empty lists included).
    const HARDENED_TEMPLATE: &str = r#"[
  {
    "name": "app",
    "image": "${image}",
    "essential": true,
    "readonlyRootFilesystem": true,
    "user": "1000:1000",
    "stopTimeout": 60,
    "startTimeout": 30,
    "dockerLabels": {"com.datadoghq.ad.check_names": "[\"app\"]", "team": "web"},
    "linuxParameters": {
      "initProcessEnabled": true,
      "capabilities": {"add": ["SYS_PTRACE"], "drop": ["ALL"]},
      "sharedMemorySize": 128,
      "tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": ["noexec", "nosuid"]}],
      "devices": [{"hostPath": "/dev/fuse", "permissions": ["read", "write"]}],
      "maxSwap": 512,
      "swappiness": 10
    },
    "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
    "logConfiguration": {"logDriver": "awsfirelens", "options": {"Name": "cloudwatch"}},
    "dependsOn": [{"containerName": "log_router", "condition": "START"}],
    "volumesFrom": null
  },
  {
    "name": "log_router",
    "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
    "essential": true,
    "user": "0",
    "firelensConfiguration": {
      "type": "fluentbit",
      "options": {"enable-ecs-log-metadata": "true", "config-file-type": "file",
                  "config-file-value": "/fluent-bit/configs/parse-json.conf"}
    },
    "linuxParameters": {"initProcessEnabled": null, "capabilities": null, "tmpfs": []},
    "systemControls": []
  }
]"#;

    #[test]
    fn every_new_setting_reads_from_terraform_json() {
        let containers = from_template(HARDENED_TEMPLATE, [("image", "nginx:1.27")]).unwrap();
        let [app, router] = &containers[..] else {
            panic!("two containers: {containers:#?}")
        };
        assert_eq!(app.image, "nginx:1.27");
        assert_eq!(app.readonly_root_filesystem, Some(true));
        assert_eq!(app.user.as_deref(), Some("1000:1000"));
        assert_eq!((app.stop_timeout, app.start_timeout), (Some(60), Some(30)));
        assert_eq!(
            app.docker_labels["com.datadoghq.ad.check_names"],
            "[\"app\"]"
        );
        let linux = app.linux_parameters.as_ref().unwrap();
        assert_eq!(linux.init_process_enabled, Some(true));
        let caps = linux.capabilities.as_ref().unwrap();
        assert_eq!(
            (&caps.add[..], &caps.drop[..]),
            (&["SYS_PTRACE".to_owned()][..], &["ALL".to_owned()][..])
        );
        assert_eq!(linux.shared_memory_size, Some(128));
        assert_eq!(linux.tmpfs[0].container_path, "/tmp");
        assert_eq!(linux.tmpfs[0].size, 64);
        assert_eq!(linux.tmpfs[0].mount_options, ["noexec", "nosuid"]);
        assert_eq!(linux.devices[0].host_path, "/dev/fuse");
        assert_eq!(
            linux.devices[0].permissions,
            [
                crate::DevicePermission::Read,
                crate::DevicePermission::Write
            ]
        );
        assert_eq!((linux.max_swap, linux.swappiness), (Some(512), Some(10)));
        assert_eq!(app.system_controls[0].namespace, "net.core.somaxconn");
        assert_eq!(app.system_controls[0].value, "1024");

        let firelens = router.firelens_configuration.as_ref().unwrap();
        assert_eq!(firelens.kind, crate::FirelensType::Fluentbit);
        assert_eq!(firelens.options["config-file-type"], "file");
        // `null` and `[]` read as absent, to the last one.
        assert_eq!(
            router.linux_parameters,
            Some(crate::LinuxParameters::default())
        );
        assert!(router.system_controls.is_empty());

        assert_eq!(from_json(&to_json(&containers)).unwrap(), containers);
        let written: Value = serde_json::from_str(&to_json(&containers)).unwrap();
        assert_eq!(written[1]["firelensConfiguration"]["type"], "fluentbit");
        assert_eq!(
            written[0]["linuxParameters"]["capabilities"]["drop"][0],
            "ALL"
        );
    }

    #[test]
    fn unknown_fields_inside_new_settings_name_their_path() {
        let cases = [
            (
                r#"[{"name": "a", "image": "b", "linuxParameters": {"initProcessEnabled": true, "bogus": 1}}]"#,
                "[0].linuxParameters.bogus",
                "unknown field `bogus`",
            ),
            (
                r#"[{"name": "a", "image": "b", "linuxParameters": {"capabilities": {"add": [], "remove": ["ALL"]}}}]"#,
                "[0].linuxParameters.capabilities.remove",
                "unknown field `remove`",
            ),
            (
                r#"[{"name": "a", "image": "b", "linuxParameters": {"tmpfs": [{"containerPath": "/tmp", "size": "64"}]}}]"#,
                "[0].linuxParameters.tmpfs[0].size",
                "invalid type: string \"64\", expected i32",
            ),
            (
                r#"[{"name": "a", "image": "b", "firelensConfiguration": {"type": "logstash"}}]"#,
                "[0].firelensConfiguration.type",
                "unknown variant `logstash`, expected `fluentbit` or `fluentd`",
            ),
            (
                r#"[{"name": "a", "image": "b", "systemControls": [{"namespace": "net.core.somaxconn"}]}]"#,
                "[0].systemControls[0]",
                "missing field `value`",
            ),
            (
                r#"[{"name": "a", "image": "b", "readOnlyRootFilesystem": true}]"#,
                "[0].readOnlyRootFilesystem",
                "unknown field `readOnlyRootFilesystem`",
            ),
        ];
        for (json, path, rule) in cases {
            let err = from_json(json).unwrap_err();
            assert_eq!(err.problems.len(), 1, "{err}");
            assert_eq!(err.problems[0].field, path, "{err}");
            assert!(err.problems[0].rule.starts_with(rule), "{err}");
        }
    }
}
