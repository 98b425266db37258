//! The example CI workflows of docs/gitops.md (`fleet/ci-examples/`), run as written: the shell
//! steps of the GitHub Actions jobs and the scripts of the GitLab CI jobs are read from the files
//! (`fleet_tests::ci_workflow`) and run in a fleet repository on libvirt's test driver, with the
//! binaries under test on PATH. The review job's diff is kept (and shown in the run's summary), the
//! deploy job applies exactly it, and a fleet file changed after the review makes the deploy
//! refuse. The jobs' wiring (deploy after the diff, on the main branch, behind an approval, with
//! the same artefact) is checked too, so the examples cannot rot.
//!
//! They need `fleet diff` and `fleet deploy --plan` (issue 16's other half): until the binary under
//! test has them, the tests say so and pass without running.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fleet_tests::binary::{fleet_binary, run_fleet};
use fleet_tests::ci_workflow::{Yaml, github_job_steps, gitlab_job_script, parse_yaml};
use fleet_tests::workdir::WorkDir;
use serde_json::Value;

fn repository_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn workflow(name: &str) -> Yaml {
    parse_yaml(
        &std::fs::read_to_string(repository_path(&format!("fleet/ci-examples/{name}"))).unwrap(),
    )
    .unwrap()
}

fn diff_available(test: &str) -> bool {
    let help = run_fleet(["diff", "--help"]).unwrap();
    if !help.status.success() {
        fleet_tests::ansible::say_skipped(
            test,
            "needs `fleet diff` and `fleet deploy --plan`, which the binary under test does not have yet",
        );
    }
    help.status.success()
}

/// A fleet repository: two nodes on a test-driver twin of the example's hv1, a placeholder image.
fn fleet_repository(workdir: &WorkDir) -> PathBuf {
    let repository = workdir.join("repository");
    std::fs::create_dir(&repository).unwrap();
    let twin = repository_path("fleet/test-hosts/hv1.xml")
        .canonicalize()
        .unwrap();
    std::fs::write(
        repository.join("fleet.toml"),
        format!(
            "[fleet]\nname = \"gitops\"\nconnect = \"test://{}\"\n\n[fleet.image]\npath = \"base.qcow2\"\n\n\
             [maintenance]\nstrategy = \"immediate\"\n\n[[group]]\nname = \"web\"\ncount = 2\nhostname = \"web-{{index}}\"\n\n\
             [group.rollout]\nmax_unavailable = 2\ncanaries = 0\n",
            twin.display()
        ),
    )
    .unwrap();
    std::fs::write(repository.join("base.qcow2"), b"").unwrap();
    repository
}

/// Run one step's script as the runner would (bash, errexit, pipefail) in `repository`, with the
/// workflow's variables and the binaries under test first on PATH.
fn run_step(
    script: &str,
    repository: &Path,
    variables: &[(String, String)],
    extra: &[(&str, &Path)],
) -> Output {
    let binaries = fleet_binary().unwrap().parent().unwrap().to_path_buf();
    let mut paths = vec![binaries];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(repository)
        .env("PATH", std::env::join_paths(paths).unwrap())
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", repository.join("../cache"))
        .env_remove("RUST_LOG");
    for (name, value) in variables {
        command.env(name, value);
    }
    for (name, value) in extra {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn shown(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn variables_of(table: Option<&Yaml>) -> Vec<(String, String)> {
    table
        .map(|table| {
            table
                .entries()
                .iter()
                .map(|(name, value)| (name.clone(), value.text().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The saved diff: it lists both nodes as to be created.
fn assert_saved_diff(repository: &Path) {
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(repository.join("fleet-plan.json")).unwrap())
            .unwrap();
    assert_eq!(saved["changes"], 2, "{saved}");
    let diff = std::fs::read_to_string(repository.join("fleet-diff.txt")).unwrap();
    assert!(diff.contains("web-1") && diff.contains("create"), "{diff}");
}

/// A change to the fleet file after the review (still a valid fleet): the reviewed diff no
/// longer holds.
fn change_after_review(repository: &Path) {
    let fleet = repository.join("fleet.toml");
    let text = std::fs::read_to_string(&fleet).unwrap();
    std::fs::write(
        &fleet,
        text.replace("count = 2\n", "count = 2\nmemory_mib = 1024\n"),
    )
    .unwrap();
}

/// The deploy refused the reviewed diff because the fleet file changed, and deployed nothing.
fn assert_refused(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(1),
        "a changed fleet file was deployed: {}",
        shown(output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("changed since the diff") && stderr.contains("nothing was deployed"),
        "{}",
        shown(output)
    );
}

#[test]
fn the_github_actions_workflow_checks_and_diffs_then_deploys_exactly_the_reviewed_diff() {
    if !diff_available("the_github_actions_workflow") {
        return;
    }
    let workflow = workflow("github-actions.yml");
    let jobs = workflow.get("jobs").unwrap();
    let deploy_job = jobs.get("deploy").unwrap();
    assert_eq!(deploy_job.get("needs").and_then(Yaml::text), Some("diff"));
    assert_eq!(
        deploy_job.get("environment").and_then(Yaml::text),
        Some("fleet")
    );
    let condition = deploy_job.get("if").and_then(Yaml::text).unwrap();
    assert!(condition.contains("refs/heads/main") && condition.contains("push"));
    let artefact = |job: &str, action: &str| -> Option<String> {
        jobs.get(job)?
            .get("steps")?
            .list()
            .iter()
            .find(|step| {
                step.get("uses")
                    .and_then(Yaml::text)
                    .is_some_and(|uses| uses.starts_with(action))
            })?
            .get("with")?
            .get("name")?
            .text()
            .map(str::to_owned)
    };
    assert_eq!(
        artefact("diff", "actions/upload-artifact"),
        Some("fleet-plan".to_owned())
    );
    assert_eq!(
        artefact("deploy", "actions/download-artifact"),
        Some("fleet-plan".to_owned())
    );
    let variables = variables_of(workflow.get("env"));

    for refused in [false, true] {
        let workdir = WorkDir::new(if refused {
            "gitops-github-refused"
        } else {
            "gitops-github"
        })
        .unwrap();
        let repository = fleet_repository(&workdir);
        let summary = workdir.join("summary.md");
        let extra = [("GITHUB_STEP_SUMMARY", summary.as_path())];
        let diff_steps = github_job_steps(&workflow, "diff").unwrap();
        assert!(diff_steps.iter().any(|step| step.name == "fleet check"));
        for step in diff_steps.iter().filter(|step| !step.script.is_empty()) {
            let output = run_step(&step.script, &repository, &variables, &extra);
            assert!(
                output.status.success(),
                "step {:?}: {}",
                step.name,
                shown(&output)
            );
        }
        assert_saved_diff(&repository);
        let summary = std::fs::read_to_string(&summary).unwrap();
        assert!(summary.contains("web-2"), "{summary}");

        if refused {
            change_after_review(&repository);
        }
        let deploy_steps = github_job_steps(&workflow, "deploy").unwrap();
        let runs: Vec<_> = deploy_steps
            .iter()
            .filter(|step| !step.script.is_empty())
            .collect();
        assert_eq!(runs.len(), 1);
        let output = run_step(&runs[0].script, &repository, &variables, &extra);
        if refused {
            assert_refused(&output);
        } else {
            assert!(output.status.success(), "{}", shown(&output));
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(stdout.contains("2 create"), "{}", shown(&output));
        }
    }
}

#[test]
fn the_gitlab_pipeline_checks_and_diffs_then_deploys_exactly_the_reviewed_diff() {
    if !diff_available("the_gitlab_pipeline") {
        return;
    }
    let pipeline = workflow("gitlab-ci.yml");
    let diff_job = pipeline.get("fleet-diff").unwrap();
    let paths: Vec<&str> = diff_job
        .get("artifacts")
        .and_then(|artifacts| artifacts.get("paths"))
        .unwrap()
        .list()
        .iter()
        .filter_map(Yaml::text)
        .collect();
    assert_eq!(paths, ["fleet-diff.txt", "fleet-plan.json"]);
    let deploy_job = pipeline.get("fleet-deploy").unwrap();
    let needs: Vec<&str> = deploy_job
        .get("needs")
        .unwrap()
        .list()
        .iter()
        .filter_map(Yaml::text)
        .collect();
    assert_eq!(needs, ["fleet-diff"]);
    let rule = &deploy_job.get("rules").unwrap().list()[0];
    assert_eq!(rule.get("when").and_then(Yaml::text), Some("manual"));
    assert!(
        rule.get("if")
            .and_then(Yaml::text)
            .unwrap()
            .contains("CI_DEFAULT_BRANCH")
    );
    let variables = variables_of(pipeline.get("variables"));

    for refused in [false, true] {
        let workdir = WorkDir::new(if refused {
            "gitops-gitlab-refused"
        } else {
            "gitops-gitlab"
        })
        .unwrap();
        let repository = fleet_repository(&workdir);
        for job in ["fleet-check", "fleet-diff"] {
            let output = run_step(
                &gitlab_job_script(&pipeline, job).unwrap(),
                &repository,
                &variables,
                &[],
            );
            assert!(output.status.success(), "job {job}: {}", shown(&output));
        }
        assert_saved_diff(&repository);
        if refused {
            change_after_review(&repository);
        }
        let output = run_step(
            &gitlab_job_script(&pipeline, "fleet-deploy").unwrap(),
            &repository,
            &variables,
            &[],
        );
        if refused {
            assert_refused(&output);
        } else {
            assert!(output.status.success(), "{}", shown(&output));
        }
    }
}

/// The review job fails on an error (exit status 1) but not on changes (2): a broken fleet file
/// stops the pipeline at the check.
#[test]
fn a_broken_fleet_file_stops_the_review_job() {
    let workflow = workflow("github-actions.yml");
    let workdir = WorkDir::new("gitops-broken").unwrap();
    let repository = fleet_repository(&workdir);
    std::fs::write(
        repository.join("fleet.toml"),
        "[fleet]\nname = \"x\"\nconect = \"y\"\n",
    )
    .unwrap();
    let steps = github_job_steps(&workflow, "diff").unwrap();
    let check = steps
        .iter()
        .find(|step| step.name == "fleet check")
        .unwrap();
    let output = run_step(
        &check.script,
        &repository,
        &variables_of(workflow.get("env")),
        &[],
    );
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("fleet.toml:3:1: error: unknown key `conect`"),
        "{}",
        shown(&output)
    );
}
