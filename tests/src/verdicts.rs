//! What `fleet check`, `plan`, `render` and (on libvirt's test driver) `deploy --dry-run` each say of one
//! fleet file, for tests that hold `fleet check` to its promise: valid means the others accept it.

use std::path::Path;
use std::process::Output;

use anyhow::Result;

use crate::binary::run_fleet;

/// One command's answer: whether it succeeded, and what it printed on stderr.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub command: &'static str,
    pub success: bool,
    pub stderr: String,
}

impl Verdict {
    fn of(command: &'static str, output: &Output) -> Verdict {
        Verdict {
            command,
            success: output.status.success(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Every command's answer about one fleet file.
#[derive(Debug, Clone)]
pub struct Verdicts {
    pub check: Verdict,
    /// plan, render and, when asked for, deploy.
    pub others: Vec<Verdict>,
}

impl Verdicts {
    /// `Ok` when check accepts the fleet exactly when every other command does.
    pub fn agree(&self) -> std::result::Result<(), String> {
        let others_accept = self.others.iter().all(|verdict| verdict.success);
        if self.check.success == others_accept {
            return Ok(());
        }
        let mut report = format!(
            "fleet check {} the fleet, but:\n",
            if self.check.success {
                "accepts"
            } else {
                "refuses"
            }
        );
        if !self.check.success {
            report.push_str(&format!("check: {}\n", self.check.stderr));
        }
        for verdict in &self.others {
            report.push_str(&format!(
                "{}: {}{}\n",
                verdict.command,
                if verdict.success { "ok" } else { "failed: " },
                verdict.stderr
            ));
        }
        Err(report)
    }
}

/// Run check, plan and `render --out` (into `scratch`) on `fleet_toml`; with `deploy_image`, also
/// `deploy --dry-run` on libvirt's in-process test driver with that placeholder image (for fleets
/// without `[[host]]`, whose single connection `--connect` replaces).
pub fn verdicts(
    fleet_toml: &Path,
    scratch: &Path,
    deploy_image: Option<&Path>,
) -> Result<Verdicts> {
    let fleet = fleet_toml.as_os_str();
    let check = run_fleet(["check".as_ref(), fleet])?;
    let plan = run_fleet([
        "plan".as_ref(),
        fleet,
        "--format".as_ref(),
        "json".as_ref(),
        "--now".as_ref(),
        "2026-01-05T00:00:00Z".as_ref(),
    ])?;
    let out = scratch.join("rendered");
    let render = run_fleet(["render".as_ref(), fleet, "--out".as_ref(), out.as_os_str()])?;
    let mut others = vec![Verdict::of("plan", &plan), Verdict::of("render", &render)];
    if let Some(image) = deploy_image {
        let deploy = run_fleet([
            "deploy".as_ref(),
            fleet,
            "--dry-run".as_ref(),
            "--connect".as_ref(),
            "test:///default".as_ref(),
            "--image".as_ref(),
            image.as_os_str(),
        ])?;
        others.push(Verdict::of("deploy --dry-run", &deploy));
    }
    Ok(Verdicts {
        check: Verdict::of("check", &check),
        others,
    })
}
