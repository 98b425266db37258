//! The example CI workflows (`fleet/ci-examples/`) as data: a small YAML tree (maps, lists,
//! strings; no anchors) read with `saphyr-parser`, and the shell steps of a GitHub Actions job or
//! a GitLab CI job, so that `tests/tests/gitops.rs` runs exactly what the files say.

use anyhow::{Context, Result, bail};
use saphyr_parser::{Event, Parser};

/// A YAML node: a mapping (in file order), a sequence or a scalar's text.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Map(Vec<(String, Yaml)>),
    List(Vec<Yaml>),
    Text(String),
}

impl Yaml {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Yaml::Text(text) => Some(text),
            _ => None,
        }
    }

    pub fn list(&self) -> &[Yaml] {
        match self {
            Yaml::List(items) => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(String, Yaml)] {
        match self {
            Yaml::Map(entries) => entries,
            _ => &[],
        }
    }
}

enum Open {
    Map(Vec<(String, Yaml)>, Option<String>),
    List(Vec<Yaml>),
}

/// Parse one YAML document.
pub fn parse_yaml(source: &str) -> Result<Yaml> {
    let mut parser = Parser::new_from_str(source);
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    loop {
        let (event, span) = parser
            .next_event()
            .context("no more events before the stream's end")?
            .map_err(|error| anyhow::anyhow!("YAML: {error}"))?;
        let node = match event {
            Event::StreamEnd => break,
            Event::Scalar(value, ..) => Yaml::Text(value.into_owned()),
            Event::MappingStart(..) => {
                stack.push(Open::Map(Vec::new(), None));
                continue;
            }
            Event::SequenceStart(..) => {
                stack.push(Open::List(Vec::new()));
                continue;
            }
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(entries, None)) => Yaml::Map(entries),
                _ => bail!("unbalanced mapping at line {}", span.start.line()),
            },
            Event::SequenceEnd => match stack.pop() {
                Some(Open::List(items)) => Yaml::List(items),
                _ => bail!("unbalanced sequence at line {}", span.start.line()),
            },
            Event::Alias(_) => bail!("line {}: aliases are not used here", span.start.line()),
            _ => continue,
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::List(items)) => items.push(node),
            Some(Open::Map(entries, key)) => match key.take() {
                Some(name) => entries.push((name, node)),
                None => match node {
                    Yaml::Text(name) => *key = Some(name),
                    _ => bail!("line {}: only text keys are used here", span.start.line()),
                },
            },
        }
    }
    root.context("an empty YAML file")
}

/// One shell step of a job, with the name it is shown by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellStep {
    pub name: String,
    pub script: String,
}

/// The `run` steps of a GitHub Actions job, in order; `uses` steps are returned as their action's
/// name with an empty script, so a caller sees them in their place.
pub fn github_job_steps(workflow: &Yaml, job: &str) -> Result<Vec<ShellStep>> {
    let steps = workflow
        .get("jobs")
        .and_then(|jobs| jobs.get(job))
        .and_then(|job| job.get("steps"))
        .with_context(|| format!("no job {job} with steps"))?;
    steps
        .list()
        .iter()
        .map(|step| {
            let name = step.get("name").and_then(Yaml::text).unwrap_or_default();
            if let Some(script) = step.get("run").and_then(Yaml::text) {
                Ok(ShellStep {
                    name: name.to_owned(),
                    script: script.to_owned(),
                })
            } else if let Some(action) = step.get("uses").and_then(Yaml::text) {
                Ok(ShellStep {
                    name: action.to_owned(),
                    script: String::new(),
                })
            } else {
                bail!("a step of job {job} has neither run nor uses")
            }
        })
        .collect()
}

/// The `script` lines of a GitLab CI job, joined into one script (GitLab runs them in one shell).
pub fn gitlab_job_script(pipeline: &Yaml, job: &str) -> Result<String> {
    let script = pipeline
        .get(job)
        .and_then(|job| job.get("script"))
        .with_context(|| format!("no job {job} with a script"))?;
    let lines: Option<Vec<&str>> = script.list().iter().map(Yaml::text).collect();
    let lines = lines.with_context(|| format!("job {job}: every script line is text"))?;
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scalars_lists_and_maps_are_read_as_written() {
        let yaml = parse_yaml("a:\n  b: |\n    one\n    two\n  c: [x, 'y']\n").unwrap();
        assert_eq!(
            yaml,
            Yaml::Map(vec![(
                "a".into(),
                Yaml::Map(vec![
                    ("b".into(), Yaml::Text("one\ntwo\n".into())),
                    (
                        "c".into(),
                        Yaml::List(vec![Yaml::Text("x".into()), Yaml::Text("y".into())])
                    ),
                ])
            )])
        );
    }
}
