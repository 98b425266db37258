//! What `fleet deploy` and `fleet diff` start from: the planned fleet, a session on its hosts,
//! where the nodes go, and the desired fleet with every selected node rendered.

use std::path::Path;

use fleet_libvirt::{DesiredFleet, Session, SessionOptions};

use fleet_cli::cmd::shared_args::TargetArgs;
use fleet_cli::pipeline::{self, PlannedFleet};

use crate::desired::rendered_desired_fleet;
use crate::placement::{Placed, place_nodes};
use crate::targets::{check_selection, fleet_target, host_targets};

/// Everything a deploy decides from, made once.
pub(crate) struct DeployInput {
    pub(crate) planned: PlannedFleet,
    pub(crate) session: Session,
    pub(crate) placed: Placed,
    pub(crate) desired: DesiredFleet,
}

/// Load and plan the fleet, connect to its hosts (with `--connect` applied), place the nodes and
/// render the selected ones.
pub(crate) fn deploy_input(
    fleet_file: &Path,
    target_args: &TargetArgs,
    jobs: u16,
) -> anyhow::Result<DeployInput> {
    let planned = pipeline::plan_fleet(fleet_file)?;
    let fleet = &planned.loaded.fleet;
    check_selection(fleet, &target_args.nodes, fleet_file)?;
    let hosts = host_targets(fleet, target_args)?;
    let target = fleet_target(fleet, fleet_file, target_args)?;
    // A FIFO, a device or a directory as the image: one clear error before anything is done.
    target.image.check()?;
    let session = Session::open(&hosts, &SessionOptions::for_jobs(usize::from(jobs)));
    let placed = place_nodes(fleet, &session, &hosts, &target)?;
    let desired = rendered_desired_fleet(&planned, &target, &placed, &target_args.nodes)?;
    Ok(DeployInput {
        planned,
        session,
        placed,
        desired,
    })
}
