//! Saved plans: `plan --out FILE` writes one, `apply FILE` carries it out exactly.
//!
//! The file is versioned JSON: the program and settings the plan was made with, their
//! digest, and the plan itself, each resource with the change planned and the id it was read
//! with. Apply refuses a file whose settings are not the run's (naming the flag) before any
//! call, and a plan that AWS no longer agrees with before any write (the engine compares).

use std::fs;
use std::path::Path;

use converge::Plan;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::command::Failure;
use super::Settings;

/// The format this release writes and reads.
const FORMAT: u32 = 1;

/// What `plan --out` writes.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SavedPlan {
    /// Bumped when the layout changes; a file of another format is refused.
    pub format_version: u32,
    /// The release that made it.
    pub made_by: String,
    /// The program (example) that made it, and its settings.
    pub inputs: Inputs,
    /// `sha256:` of the inputs as JSON: an edited file is refused.
    pub inputs_digest: String,
    /// The plan.
    pub plan: Plan,
}

/// The program and settings a plan was made with.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Inputs {
    pub program: String,
    pub environment: String,
    pub capacity_provider: bool,
    pub wait_steady: bool,
    /// Absent from a plan saved before the flag existed: without it.
    #[serde(default)]
    pub blue_green: bool,
}

impl Inputs {
    pub(crate) fn new(program: &str, settings: &Settings) -> Self {
        Self {
            program: program.to_owned(),
            environment: settings.environment.clone(),
            capacity_provider: settings.capacity_provider,
            wait_steady: settings.wait_steady,
            blue_green: settings.blue_green,
        }
    }

    fn digest(&self) -> String {
        let json = serde_json::to_vec(self).expect("plain data serializes");
        let hash = Sha256::digest(&json);
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    /// What differs from `run`'s, as the flags that would make them agree.
    fn differences(&self, run: &Inputs) -> Vec<String> {
        let mut out = Vec::new();
        if self.program != run.program {
            out.push(format!(
                "it was made by {:?}, this is {:?}",
                self.program, run.program
            ));
        }
        if self.environment != run.environment {
            out.push(format!(
                "it was made with --environment {}, this run has {}",
                self.environment, run.environment
            ));
        }
        for (flag, then, now) in [
            (
                "--capacity-provider",
                self.capacity_provider,
                run.capacity_provider,
            ),
            ("--wait-steady", self.wait_steady, run.wait_steady),
            ("--blue-green", self.blue_green, run.blue_green),
        ] {
            if then != now {
                let with = |on: bool| if on { "with" } else { "without" };
                out.push(format!(
                    "it was made {} {flag}, this run is {} it",
                    with(then),
                    with(now)
                ));
            }
        }
        out
    }
}

/// Writes `plan`, made by `inputs`, to `path`.
pub(crate) fn save(path: &Path, inputs: Inputs, plan: &Plan) -> Result<(), Failure> {
    let saved = SavedPlan {
        format_version: FORMAT,
        made_by: format!("ecs-modules {}", env!("CARGO_PKG_VERSION")),
        inputs_digest: inputs.digest(),
        inputs,
        plan: plan.clone(),
    };
    let text = serde_json::to_string_pretty(&saved).expect("plain data serializes");
    fs::write(path, text + "\n").map_err(|e| {
        Failure::Other(format!(
            "could not write the plan to {}: {e}",
            path.display()
        ))
    })
}

/// Reads the plan at `path` for a run with inputs `run`, refusing one that is not of this
/// format, was edited, or was made with other inputs.
pub(crate) fn load(path: &Path, run: &Inputs) -> Result<Plan, Failure> {
    let shown = path.display();
    let text = fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("could not read the saved plan {shown}: {e}")))?;
    let saved: SavedPlan = serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{shown} is not a plan saved by `plan --out`: {e}")))?;
    if saved.format_version != FORMAT {
        return Err(Failure::Usage(format!(
            "{shown} is a plan of format {} ({}); this release reads format {FORMAT}: plan again",
            saved.format_version, saved.made_by
        )));
    }
    if saved.inputs.digest() != saved.inputs_digest {
        return Err(Failure::Usage(format!(
            "{shown} was edited (its inputs do not match their digest): plan again"
        )));
    }
    let differences = saved.inputs.differences(run);
    if !differences.is_empty() {
        return Err(Failure::Usage(format!(
            "the saved plan {shown} is for other inputs: {}",
            differences.join("; ")
        )));
    }
    Ok(saved.plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(environment: &str) -> Inputs {
        Inputs {
            program: "fargate".into(),
            environment: environment.into(),
            capacity_provider: false,
            wait_steady: false,
            blue_green: false,
        }
    }

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("ecs-modules-{}-{name}.json", std::process::id()))
    }

    #[test]
    fn a_saved_plan_reads_back_for_the_same_inputs_only() {
        let path = temp("same");
        let mut plan = Plan::new();
        plan.push(converge::Change::new(
            converge::Action::Create,
            "aws_vpc",
            "blog-vpc",
        ));
        save(&path, inputs("blog"), &plan).unwrap();
        assert_eq!(load(&path, &inputs("blog")).unwrap(), plan);
        let Err(Failure::Usage(text)) = load(&path, &inputs("prod")) else {
            panic!("other inputs were taken");
        };
        assert!(
            text.contains("--environment blog, this run has prod"),
            "{text}"
        );
        fs::remove_file(path).unwrap();
    }

    #[test]
    fn an_edited_or_foreign_file_is_refused() {
        let path = temp("edited");
        save(&path, inputs("blog"), &Plan::new()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace("\"blog\"", "\"prod\"")).unwrap();
        let Err(Failure::Usage(said)) = load(&path, &inputs("prod")) else {
            panic!("an edited plan was taken");
        };
        assert!(said.contains("was edited"), "{said}");
        fs::write(&path, "{\"changes\": []}").unwrap();
        assert!(matches!(
            load(&path, &inputs("blog")),
            Err(Failure::Usage(_))
        ));
        fs::write(
            &path,
            text.replace("\"format_version\": 1", "\"format_version\": 9"),
        )
        .unwrap();
        let Err(Failure::Usage(said)) = load(&path, &inputs("blog")) else {
            panic!("another format was taken");
        };
        assert!(said.contains("format 9"), "{said}");
        fs::remove_file(path).unwrap();
    }
}
