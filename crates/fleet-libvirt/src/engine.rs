//! The engine: `deploy`, `status` and `destroy` over a session, hosts prepared in parallel, nodes run in parallel wave by wave.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use virt::connect::Connect;
use virt::storage_vol::StorageVol;

use crate::base_image::ImageInfo;
use crate::console_log;
use crate::desired::{DesiredFleet, DesiredNode, FleetTarget, names};
use crate::domain_xml::Hypervisor;
use crate::error::Error;
use crate::host::{self, HostContext, Preparation};
use crate::image_digest::ImageDigestCache;
use crate::node::{self, DomainObservation, NodeOnHost, Observation};
use crate::ops;
use crate::report::{
    Action, DeployOutcome, DeployReport, DestroyReport, Difference, Event, Field, HostReport,
    KeptReason, KeptVolume, NodeReport, NodeState, NodeStatus, StatusReport, Step, StrayDomain,
    TeardownReport,
};
use crate::session::{HostSlot, Session};
use crate::storage_xml::ObservedVolume;
use crate::uri;
use crate::volume_ownership::{self, VolumeAt};
use crate::waves::WaveGate;

/// How `deploy` works.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Nodes handled at once, across all hosts (default 8).
    pub jobs: usize,
    /// Decide and report, change nothing (not even the pool or the base image).
    pub dry_run: bool,
    /// Rebuild changed nodes (teardown, then create) instead of only reporting them.
    pub replace: bool,
    /// Where the base image's digest is remembered between runs (see `ImageDigestCache`);
    /// `None` hashes the image on every run.
    pub image_digest_cache: Option<ImageDigestCache>,
    /// Hold the deploy to these actions by node name (a reviewed plan, `fleet deploy --plan`): a
    /// node whose decision now differs, or that is not listed, fails untouched with
    /// `Error::NotAsReviewed`. `None`: whatever is decided is done.
    pub reviewed: Option<BTreeMap<String, Action>>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            jobs: 8,
            dry_run: false,
            replace: false,
            image_digest_cache: None,
            reviewed: None,
        }
    }
}

/// How `status` works.
#[derive(Debug, Clone)]
pub struct StatusOptions {
    pub jobs: usize,
    /// Read each owned node's console log and keep its last line that contains this marker
    /// (`NodeStatus::console_line`); `None` reads no console.
    pub console_marker: Option<String>,
}

impl Default for StatusOptions {
    fn default() -> Self {
        StatusOptions {
            jobs: 8,
            console_marker: None,
        }
    }
}

/// How `destroy` works.
#[derive(Debug, Clone)]
pub struct DestroyOptions {
    pub jobs: usize,
    /// Also delete imported base images no remaining volume is backed by.
    pub purge_image: bool,
    /// Also remove this fleet's domains that no desired node accounts for, and report the volumes
    /// with the fleet's prefix that no domain of the fleet accounts for (whole-fleet destroy).
    /// Leave off when destroying selected nodes.
    pub include_strays: bool,
    /// With `include_strays`, the nodes the fleet file still has: they are no strays, so only the
    /// fleet's other domains are removed (`fleet deploy --prune`), and the pool is neither swept
    /// for unaccounted volumes nor removed. Empty for a whole-fleet destroy.
    pub keep: BTreeSet<String>,
    /// Where the base image's digest may be remembered: with `purge_image`, the image the fleet
    /// names is one fleet may delete (see `volume_ownership`).
    pub image_digest_cache: Option<ImageDigestCache>,
}

impl Default for DestroyOptions {
    fn default() -> Self {
        DestroyOptions {
            jobs: 8,
            purge_image: false,
            include_strays: true,
            keep: BTreeSet::new(),
            image_digest_cache: None,
        }
    }
}

/// The progress callback: called from worker threads.
pub type OnEvent<'a> = &'a (dyn Fn(Event<'_>) + Sync);

type Contexts<'s> = BTreeMap<String, Result<HostContext<'s>, Error>>;

impl Session {
    /// Make libvirt match the desired fleet: create missing nodes, leave unchanged ones, repair
    /// small things in place, report changed ones (and rebuild them with `replace`).
    ///
    /// Nodes run in parallel (`jobs`), wave by wave: a node of a later wave prepares its volumes,
    /// Ignition and definition at once, but starts, repairs or removes its machine only after every
    /// node of the earlier waves has finished, so canaries (wave 0) come up first. A failing node
    /// removes what it created and does not stop the others. Reports keep the order of
    /// `desired.nodes`.
    pub fn deploy(
        &self,
        desired: &DesiredFleet,
        options: &DeployOptions,
        on_event: OnEvent<'_>,
    ) -> DeployReport {
        let target = &desired.target;
        let image = ImageInfo::read(&target.image, options.image_digest_cache.as_ref());
        let preparation = Preparation {
            create_missing: !options.dry_run,
            image: image.as_ref().ok(),
            resolve_hypervisor: true,
            require_network: true,
            // Finding a node on another host than its placement needs every host's domains; a
            // dry run also lists the fleet's domains no node accounts for (`fleet diff`).
            scan: self.hosts.len() > 1 || options.dry_run,
            refresh: !options.dry_run,
        };
        // Hosts without nodes are only looked at (a node may have moved away from them): no pool
        // and no image import there.
        let hosts_with_nodes: BTreeSet<&str> = desired
            .nodes
            .iter()
            .map(|node| node.host.as_str())
            .collect();
        let look_only = Preparation {
            create_missing: false,
            image: None,
            resolve_hypervisor: false,
            require_network: false,
            scan: true,
            refresh: false,
        };
        let preparation_of = |host: &str| {
            if hosts_with_nodes.contains(host) {
                preparation
            } else {
                look_only
            }
        };
        let contexts = match &image {
            Ok(_) => self.prepare_hosts(target, &preparation_of, options.jobs, on_event),
            Err(error) => self.fail_hosts(|host| match error {
                Error::BaseImageUnreadable { path, message } => Error::BaseImageUnreadable {
                    path: path.clone(),
                    message: message.clone(),
                },
                other => Error::HostFailed {
                    host: host.to_owned(),
                    message: other.to_string(),
                },
            }),
        };

        // Workers take nodes in this order, earlier waves first, so every node a held one waits
        // for is already at work: the gate cannot deadlock.
        let order: Vec<usize> = schedule(&desired.nodes).into_iter().flatten().collect();
        let gate = WaveGate::new(desired.nodes.iter().map(|node| node.wave));
        let results = run_parallel(&order, options.jobs, &|&index| {
            let node = &desired.nodes[index];
            let _working = gate.working(node.wave);
            deploy_node(&contexts, target, node, options, &gate, on_event)
        });
        let mut reports: Vec<Option<NodeReport>> = (0..desired.nodes.len()).map(|_| None).collect();
        for (index, report) in order.into_iter().zip(results) {
            reports[index] = Some(report);
        }
        DeployReport {
            dry_run: options.dry_run,
            strays: strays(&contexts, desired),
            hosts: self.host_reports(contexts),
            nodes: reports.into_iter().flatten().collect(),
        }
    }

    /// Every desired node as libvirt has it: state, drift, pending repairs, address; plus this
    /// fleet's domains no desired node accounts for.
    pub fn status(&self, desired: &DesiredFleet, options: &StatusOptions) -> StatusReport {
        let target = &desired.target;
        let preparation = Preparation {
            create_missing: false,
            image: None,
            resolve_hypervisor: true,
            require_network: false,
            scan: true,
            // Console logs are files qemu made after the last deploy: a refresh (a rescan of the
            // pool's directory, which writes nothing) makes them volumes status can read.
            refresh: options.console_marker.is_some(),
        };
        let no_events = |_: Event<'_>| {};
        let contexts = self.prepare_hosts(target, &|_| preparation, options.jobs, &no_events);
        let indices: Vec<usize> = (0..desired.nodes.len()).collect();
        let nodes = run_parallel(&indices, options.jobs, &|&index| {
            node_status(&contexts, target, &desired.nodes[index], options)
        });
        StatusReport {
            strays: strays(&contexts, desired),
            hosts: self.host_reports(contexts),
            nodes,
        }
    }

    /// Remove the desired nodes (and, with `include_strays`, every other domain and volume of the
    /// fleet) from all hosts: stop and undefine domains fleet owns (with NVRAM), delete overlay,
    /// Ignition and console-log volumes and the nodes' DHCP reservations. The base image stays
    /// unless `purge_image`. Domains fleet does not own are reported and left alone.
    pub fn destroy(
        &self,
        desired: &DesiredFleet,
        options: &DestroyOptions,
        on_event: OnEvent<'_>,
    ) -> DestroyReport {
        let target = &desired.target;
        let preparation = Preparation {
            create_missing: false,
            image: None,
            resolve_hypervisor: false,
            require_network: false,
            scan: true,
            // Console logs are files qemu made: a refresh makes them volumes teardown can delete.
            refresh: true,
        };
        let contexts = self.prepare_hosts(target, &|_| preparation, options.jobs, on_event);

        // What to remove where: every desired node on its placed host and wherever the fleet has
        // a domain for it; strays wherever they are.
        let desired_names: BTreeSet<&str> = desired
            .nodes
            .iter()
            .map(|node| node.name.as_str())
            .collect();
        let mut work: Vec<(String, String, Option<String>)> = Vec::new();
        for node in &desired.nodes {
            let mut hosts: BTreeSet<&str> = BTreeSet::from([node.host.as_str()]);
            for (host, context) in &contexts {
                if context
                    .as_ref()
                    .is_ok_and(|context| context.fleet_domains.contains_key(&node.name))
                {
                    hosts.insert(host);
                }
            }
            for host in hosts {
                work.push((
                    host.to_owned(),
                    node.name.clone(),
                    Some(node.mac.to_string()),
                ));
            }
        }
        if options.include_strays {
            for (host, context) in &contexts {
                let Ok(context) = context else { continue };
                for node in context.fleet_domains.keys() {
                    if !desired_names.contains(node.as_str()) && !options.keep.contains(node) {
                        work.push((host.clone(), node.clone(), None));
                    }
                }
            }
        }

        let torn_down = run_parallel(&work, options.jobs, &|(host, node, mac)| {
            teardown_node(&contexts, target, host, node, mac.clone(), on_event)
        });
        let mut nodes = Vec::with_capacity(torn_down.len());
        let mut kept_volumes = Vec::new();
        let mut backing_paths: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (report, left) in torn_down {
            for (volume, reason) in left.kept {
                kept_volumes.push(KeptVolume {
                    host: report.host.clone(),
                    volume,
                    reason,
                });
            }
            if let Some((host, _)) = contexts.get_key_value(&report.host) {
                backing_paths
                    .entry(host.as_str())
                    .or_default()
                    .extend(left.backing_paths);
            }
            nodes.push(report);
        }

        // The image the fleet names is one it may purge: its volume name, when the file is there.
        let own_image = if options.purge_image {
            match ImageInfo::read(&target.image, options.image_digest_cache.as_ref()) {
                Ok(ImageInfo::File { sha256, .. }) => Some(names::base_image_volume(&sha256)),
                Ok(ImageInfo::Volume(_)) => None,
                Err(error) => {
                    tracing::info!(%error, "the fleet's image cannot be read; only the images of destroyed nodes are purged");
                    None
                }
            }
        } else {
            None
        };

        // Per host: what is left with the fleet's names, base images, the pool.
        let hosts: Vec<&String> = contexts.keys().collect();
        let no_backing = BTreeSet::new();
        let finals = run_parallel(&hosts, options.jobs, &|host| {
            let proven_images = ProvenImages {
                backing_paths: backing_paths.get(host.as_str()).unwrap_or(&no_backing),
                own_image: own_image.as_deref(),
            };
            finish_host_teardown(
                &contexts,
                target,
                host,
                &kept_volumes,
                proven_images,
                options,
            )
        });
        let mut purged_images = Vec::new();
        let mut removed_pools = Vec::new();
        let mut host_errors: BTreeMap<String, Error> = BTreeMap::new();
        for (host, result) in hosts.iter().zip(finals) {
            match result {
                Ok(finished) => {
                    purged_images.extend(
                        finished
                            .purged_images
                            .into_iter()
                            .map(|volume| ((*host).clone(), volume)),
                    );
                    kept_volumes.extend(finished.kept);
                    if finished.removed_pool {
                        removed_pools.push(((*host).clone(), target.pool_name.clone()));
                    }
                }
                Err(error) => {
                    host_errors.insert((*host).clone(), error);
                }
            }
        }
        let mut host_reports = self.host_reports(contexts);
        for report in &mut host_reports {
            if report.error.is_none() {
                report.error = host_errors.remove(&report.host);
            }
        }
        kept_volumes.sort_by(|a, b| (&a.host, &a.volume).cmp(&(&b.host, &b.volume)));
        kept_volumes.dedup_by(|a, b| a.host == b.host && a.volume == b.volume);
        DestroyReport {
            hosts: host_reports,
            nodes,
            purged_images,
            kept_volumes,
            removed_pools,
        }
    }

    /// Where this fleet's domains are now: node name → host, from each reachable host's domain
    /// metadata (the planner's "previous placement"), plus the hosts that could not be read.
    pub fn locate(&self, fleet: &str) -> (BTreeMap<String, String>, Vec<(String, Error)>) {
        let slots: Vec<(&String, &HostSlot)> = self.hosts.iter().collect();
        let scans = run_parallel(&slots, 8, &|(name, slot)| match slot {
            HostSlot::Connected(connections) => host::scan_fleet_domains(connections.get(), fleet),
            HostSlot::Unreachable { error, .. } => Err(Error::HostUnreachable {
                host: (*name).clone(),
                message: error.to_string(),
            }),
        });
        let mut placement = BTreeMap::new();
        let mut failures = Vec::new();
        for ((host, _), scan) in slots.into_iter().zip(scans) {
            match scan {
                Ok(domains) => {
                    for node in domains.into_keys() {
                        // A node found on two hosts (an interrupted move) stays with the first.
                        placement.entry(node).or_insert_with(|| host.clone());
                    }
                }
                Err(error) => failures.push((host.clone(), error)),
            }
        }
        (placement, failures)
    }

    fn prepare_hosts<'s, 'p>(
        &'s self,
        target: &FleetTarget,
        preparation: &(dyn Fn(&str) -> Preparation<'p> + Sync),
        jobs: usize,
        on_event: OnEvent<'_>,
    ) -> Contexts<'s> {
        let slots: Vec<(&String, &HostSlot)> = self.hosts.iter().collect();
        let prepared = run_parallel(&slots, jobs, &|(name, slot)| match slot {
            HostSlot::Unreachable { target, error } => {
                let unreachable = Error::Connect {
                    uri: target.uri.clone(),
                    message: match error {
                        Error::Connect { message, .. } => message.clone(),
                        other => other.to_string(),
                    },
                };
                // The progress says why this host's nodes fail, as for a host that fails later.
                on_event(Event::HostReady {
                    host: name,
                    error: Some(&unreachable),
                });
                Err(unreachable)
            }
            HostSlot::Connected(connections) => {
                let on_step = |step| on_event(Event::HostStep { host: name, step });
                let context = host::prepare(connections, target, preparation(name), &on_step);
                on_event(Event::HostReady {
                    host: name,
                    error: context.as_ref().err(),
                });
                context
            }
        });
        slots
            .into_iter()
            .map(|(name, _)| name.clone())
            .zip(prepared)
            .collect()
    }

    fn fail_hosts<'s>(&'s self, error: impl Fn(&str) -> Error) -> Contexts<'s> {
        self.hosts
            .keys()
            .map(|name| (name.clone(), Err(error(name))))
            .collect()
    }

    fn host_reports(&self, contexts: Contexts<'_>) -> Vec<HostReport> {
        contexts
            .into_iter()
            .map(|(name, context)| {
                let uri = match self.hosts.get(&name) {
                    Some(HostSlot::Connected(connections)) => connections.target.uri.clone(),
                    Some(HostSlot::Unreachable { target, .. }) => target.uri.clone(),
                    None => String::new(),
                };
                match context {
                    Ok(context) => HostReport {
                        host: name,
                        uri,
                        hypervisor: context.hypervisor,
                        pool_created: context.pool_created,
                        image_imported: context.image_imported,
                        error: None,
                    },
                    Err(error) => HostReport {
                        host: name,
                        uri,
                        hypervisor: None,
                        pool_created: false,
                        image_imported: false,
                        error: Some(error),
                    },
                }
            })
            .collect()
    }
}

/// This fleet's domains no desired node accounts for, on every host that was scanned, sorted by
/// host, then domain.
fn strays(contexts: &Contexts<'_>, desired: &DesiredFleet) -> Vec<StrayDomain> {
    let desired_names: BTreeSet<&str> = desired
        .nodes
        .iter()
        .map(|node| node.name.as_str())
        .collect();
    let mut strays = Vec::new();
    for (host, context) in contexts {
        let Ok(context) = context else { continue };
        for (node, scanned) in &context.fleet_domains {
            if !desired_names.contains(node.as_str()) {
                strays.push(StrayDomain {
                    host: host.clone(),
                    domain: scanned.domain.clone(),
                    state: scanned.state,
                });
            }
        }
    }
    strays
}

/// Node indices wave by wave; within a wave the hosts take turns, so that every host gets work
/// from the start instead of one host's nodes queueing behind another's.
fn schedule(nodes: &[DesiredNode]) -> Vec<Vec<usize>> {
    let mut waves: BTreeMap<u32, BTreeMap<&str, Vec<usize>>> = BTreeMap::new();
    let mut host_order: Vec<&str> = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        if !host_order.contains(&node.host.as_str()) {
            host_order.push(&node.host);
        }
        waves
            .entry(node.wave)
            .or_default()
            .entry(&node.host)
            .or_default()
            .push(index);
    }
    waves
        .into_values()
        .map(|by_host| {
            let queues: Vec<&Vec<usize>> = host_order
                .iter()
                .filter_map(|host| by_host.get(host))
                .collect();
            let longest = queues.iter().map(|queue| queue.len()).max().unwrap_or(0);
            (0..longest)
                .flat_map(|position| {
                    queues
                        .iter()
                        .filter_map(move |queue| queue.get(position).copied())
                })
                .collect()
        })
        .collect()
}

/// Run `work` over `items` on up to `jobs` threads; results come back in the order of `items`.
pub(crate) fn run_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: &(dyn Fn(&T) -> R + Sync),
) -> Vec<R> {
    let threads = jobs.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = work(item);
                    results
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

fn host_error(contexts: &Contexts<'_>, host: &str, node: &str) -> Error {
    match contexts.get(host) {
        None => Error::UnknownHost {
            node: node.to_owned(),
            host: host.to_owned(),
        },
        Some(Err(error @ Error::Connect { .. })) => Error::HostUnreachable {
            host: host.to_owned(),
            message: error.to_string(),
        },
        Some(Err(Error::HostFailed { host, message })) => Error::HostFailed {
            host: host.clone(),
            message: message.clone(),
        },
        Some(Err(error)) => Error::HostFailed {
            host: host.to_owned(),
            message: error.to_string(),
        },
        Some(Ok(_)) => Error::HostFailed {
            host: host.to_owned(),
            message: "unexpected state".to_owned(),
        },
    }
}

/// Hosts other than the placed one where the fleet has a domain for the node.
fn elsewhere(contexts: &Contexts<'_>, node: &DesiredNode) -> Vec<String> {
    contexts
        .iter()
        .filter(|(host, _)| **host != node.host)
        .filter(|(_, context)| {
            context
                .as_ref()
                .is_ok_and(|context| context.fleet_domains.contains_key(&node.name))
        })
        .map(|(host, _)| host.clone())
        .collect()
}

fn deploy_node(
    contexts: &Contexts<'_>,
    target: &FleetTarget,
    node: &DesiredNode,
    options: &DeployOptions,
    gate: &WaveGate,
    on_event: OnEvent<'_>,
) -> NodeReport {
    let name = node.name.as_str();
    let host = node.host.as_str();
    let report = |action: Option<Action>, outcome: DeployOutcome| NodeReport {
        node: node.name.clone(),
        host: node.host.clone(),
        action,
        outcome,
    };
    let fail = |action: Option<Action>, step: Step, error: Error| {
        on_event(Event::NodeFailed {
            node: name,
            host,
            step,
            error: &error,
        });
        report(action, DeployOutcome::Failed { step, error })
    };
    let Some(Ok(context)) = contexts.get(host) else {
        on_event(Event::NodeStarted {
            node: name,
            host,
            action: None,
        });
        return fail(None, Step::Observe, host_error(contexts, host, name));
    };
    let connect = context.connections.get();
    let on_host = NodeOnHost::new(target, node, context.hypervisor.unwrap_or(Hypervisor::Qemu));
    let observation = match node::observe(context, connect, &on_host, elsewhere(contexts, node)) {
        Ok(observation) => observation,
        Err(error) => {
            on_event(Event::NodeStarted {
                node: name,
                host,
                action: None,
            });
            return fail(None, Step::Observe, error);
        }
    };
    let action = node::decide(context, &on_host, &observation, options.replace);
    on_event(Event::NodeStarted {
        node: name,
        host,
        action: Some(&action),
    });
    if let Action::Conflict = action {
        return fail(
            Some(action),
            Step::Observe,
            conflict(&on_host, &observation),
        );
    }
    if let Some(reviewed) = &options.reviewed
        && reviewed.get(name) != Some(&action)
    {
        let error = Error::NotAsReviewed {
            node: name.to_owned(),
            expected: reviewed
                .get(name)
                .map_or("nothing (the node is not in it)", Action::as_str)
                .to_owned(),
            found: action.as_str().to_owned(),
        };
        return fail(Some(action), Step::Observe, error);
    }
    if options.dry_run {
        on_event(Event::NodeFinished { node: name, host });
        return report(Some(action), DeployOutcome::Planned);
    }
    let on_step = |step| {
        if WaveGate::holds(step) {
            gate.wait_for_earlier_waves(node.wave);
        }
        on_event(Event::NodeStep {
            node: name,
            host,
            step,
        })
    };
    let result = match &action {
        Action::Unchanged | Action::Changed(_) | Action::Conflict => Ok(()),
        Action::Create => node::create(context, connect, &on_host, observation, &on_step),
        Action::Repair(repairs) => {
            node::repair(context, connect, &on_host, &observation, repairs, &on_step)
        }
        Action::Replace(differences) => replace(
            contexts,
            context,
            connect,
            &on_host,
            observation,
            differences,
            &on_step,
        ),
    };
    match result {
        Ok(()) => {
            on_event(Event::NodeFinished { node: name, host });
            report(Some(action), DeployOutcome::Done)
        }
        Err((step, error)) => fail(Some(action), step, error),
    }
}

/// Why a node is in conflict: a domain of its name that is not this fleet's, or volumes of its
/// names that no domain of the fleet accounts for.
fn conflict(on_host: &NodeOnHost<'_>, observation: &Observation) -> Error {
    match &observation.domain {
        DomainObservation::Foreign { owner } => Error::ForeignDomain {
            domain: on_host.node.name.clone(),
            fleet: on_host.target.name.clone(),
            owner: owner.clone(),
        },
        DomainObservation::Missing | DomainObservation::Owned(_) => Error::VolumeKept {
            volume: node::unproven_volume(on_host, observation)
                .unwrap_or(&on_host.overlay_name)
                .to_owned(),
            pool: on_host.target.pool_name.clone(),
            reason: KeptReason::Unproven {
                fleet: on_host.target.name.clone(),
            },
        },
    }
}

/// Rebuild a changed node: remove it here (and from hosts it moved away from), then create it.
fn replace(
    contexts: &Contexts<'_>,
    context: &HostContext<'_>,
    connect: &virt::connect::Connect,
    on_host: &NodeOnHost<'_>,
    observation: Observation,
    differences: &[Difference],
    on_step: &dyn Fn(Step),
) -> Result<(), node::StepError> {
    let target = on_host.target;
    let node = on_host.node;
    let removing = |error| (Step::Remove, error);
    on_step(Step::Remove);
    let owned = match &observation.domain {
        DomainObservation::Owned(owned) => Some(owned.as_ref()),
        DomainObservation::Missing | DomainObservation::Foreign { .. } => None,
    };
    // The old disk and Ignition may go only when the domain shows they are fleet's and no other
    // domain uses them: checked before anything is touched, so a refusal leaves the node running.
    let mut doomed = Vec::new();
    if let Some(pool) = context
        .pool_on(connect, &target.pool_name)
        .map_err(removing)?
    {
        for name in [&on_host.overlay_name, &on_host.ignition_name] {
            if let Some(volume) =
                node::deletable_node_volume_or_fail(context, &pool, owned, name, target)
                    .map_err(removing)?
            {
                doomed.push((name, volume));
            }
        }
    }
    if let Some(owned) = owned {
        // Down and without autostart: killed from here on, the domain is an unfinished one the
        // next deploy completes (see `node::repairs`).
        ops::stop(&owned.domain, &node.name).map_err(removing)?;
        if owned.persistent {
            owned.domain.set_autostart(false).map_err(|error| {
                removing(Error::libvirt(
                    format!("clearing autostart of domain {}", node.name),
                    &error,
                ))
            })?;
        }
    }
    // Deleted while the domain that proves they are fleet's still exists.
    for (name, volume) in doomed {
        ops::delete_volume(&volume, name, context.uri()).map_err(removing)?;
    }
    if let Some(owned) = owned {
        ops::undefine(&owned.domain, &node.name).map_err(removing)?;
    }
    // A MAC change leaves the old MAC's reservation on the node's address: remove it, or the new
    // reservation would see its address taken.
    let mut reservation = observation.reservation;
    if let (DomainObservation::Owned(owned), node::ReservationState::Taken { mac }) =
        (&observation.domain, &reservation)
        && owned
            .observed
            .interfaces
            .iter()
            .any(|interface| interface.mac.as_ref() == Some(mac))
    {
        node::teardown_reservations(context, connect, target, mac)
            .map_err(|error| (Step::Remove, error))?;
        reservation = node::ReservationState::Missing;
    }
    let fresh = Observation {
        domain: DomainObservation::Missing,
        overlay: None,
        ignition_volume: None,
        reservation,
        elsewhere: Vec::new(),
    };
    node::create(context, connect, on_host, fresh, on_step)?;

    // Moved: remove the old copies now that the new one runs.
    if differences
        .iter()
        .any(|difference| difference.field == Field::Host)
    {
        for old_host in &observation.elsewhere {
            let Some(Ok(old_context)) = contexts.get(old_host) else {
                continue;
            };
            let old_connect = old_context.connections.get();
            let removed = node::teardown(
                old_context,
                old_connect,
                target,
                &node.name,
                Some(node.mac.to_string()),
            )
            .map_err(removing)?;
            for (volume, reason) in removed.kept {
                tracing::warn!(node = %node.name, host = %old_host, %volume, %reason, "volume left on the old host");
            }
        }
    }
    Ok(())
}

fn node_status(
    contexts: &Contexts<'_>,
    target: &FleetTarget,
    node: &DesiredNode,
    options: &StatusOptions,
) -> NodeStatus {
    let mut status = NodeStatus {
        node: node.name.clone(),
        host: node.host.clone(),
        state: NodeState::Unknown,
        drift: Vec::new(),
        repairs: Vec::new(),
        address: None,
        release: None,
        error: None,
        console_line: Ok(None),
    };
    let Some(Ok(context)) = contexts.get(&node.host) else {
        status.error = Some(host_error(contexts, &node.host, &node.name));
        return status;
    };
    let connect = context.connections.get();
    let on_host = NodeOnHost::new(target, node, context.hypervisor.unwrap_or(Hypervisor::Qemu));
    let observation = match node::observe(context, connect, &on_host, elsewhere(contexts, node)) {
        Ok(observation) => observation,
        Err(error) => {
            status.error = Some(error);
            return status;
        }
    };
    let moved = (!observation.elsewhere.is_empty()).then(|| Difference {
        field: Field::Host,
        desired: node.host.clone(),
        observed: observation.elsewhere.join(", "),
    });
    match &observation.domain {
        DomainObservation::Missing => {
            status.state = NodeState::Missing;
            status.drift.extend(moved);
            if node::unproven_volume(&on_host, &observation).is_some() {
                status.error = Some(conflict(&on_host, &observation));
            }
        }
        DomainObservation::Foreign { owner } => {
            status.state = NodeState::Foreign;
            status.error = Some(Error::ForeignDomain {
                domain: node.name.clone(),
                fleet: target.name.clone(),
                owner: owner.clone(),
            });
        }
        DomainObservation::Owned(owned) => {
            status.state = owned.state;
            status.release = owned.metadata.release.clone();
            status.drift =
                node::differences(context, &on_host, owned, observation.overlay.as_ref());
            status.drift.extend(moved);
            if status.drift.is_empty() {
                status.repairs = node::repairs(&on_host, owned, &observation);
            }
            status.address = node::address(Some(owned), &on_host, &observation);
        }
    }
    if status.address.is_none() {
        status.address = node::address(None, &on_host, &observation);
    }
    if let (DomainObservation::Owned(_), Some(marker)) =
        (&observation.domain, &options.console_marker)
    {
        status.console_line = console_log_of(context, connect, target, node)
            .map(|tail| tail.and_then(|tail| console_log::last_line_with(&tail, marker)));
    }
    status
}

/// The end of an owned node's console log, from its pool.
fn console_log_of(
    context: &HostContext<'_>,
    connect: &Connect,
    target: &FleetTarget,
    node: &DesiredNode,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(pool) = context.pool_on(connect, &target.pool_name)? else {
        return Ok(None);
    };
    console_log::console_tail(
        connect,
        context.uri(),
        &pool,
        &names::console_log_volume(&target.name, &node.name),
    )
}

/// What a node's teardown left for its host's finish: volumes kept, images its overlays used.
#[derive(Debug, Default)]
struct LeftByTeardown {
    kept: Vec<(String, KeptReason)>,
    backing_paths: Vec<String>,
}

fn teardown_node(
    contexts: &Contexts<'_>,
    target: &FleetTarget,
    host: &str,
    node: &str,
    mac: Option<String>,
    on_event: OnEvent<'_>,
) -> (TeardownReport, LeftByTeardown) {
    let mut report = TeardownReport {
        node: node.to_owned(),
        host: host.to_owned(),
        removed_domain: false,
        deleted_volumes: Vec::new(),
        removed_reservation: false,
        error: None,
    };
    let mut left = LeftByTeardown::default();
    on_event(Event::NodeStarted {
        node,
        host,
        action: None,
    });
    let Some(Ok(context)) = contexts.get(host) else {
        let error = host_error(contexts, host, node);
        on_event(Event::NodeFailed {
            node,
            host,
            step: Step::Remove,
            error: &error,
        });
        report.error = Some(error);
        return (report, left);
    };
    on_event(Event::NodeStep {
        node,
        host,
        step: Step::Remove,
    });
    match node::teardown(context, context.connections.get(), target, node, mac) {
        Ok(removed) => {
            report.removed_domain = removed.domain;
            report.deleted_volumes = removed.volumes;
            report.removed_reservation = removed.reservation;
            left.kept = removed.kept;
            left.backing_paths = removed.backing_paths;
            on_event(Event::NodeFinished { node, host });
        }
        Err(error) => {
            on_event(Event::NodeFailed {
                node,
                host,
                step: Step::Remove,
                error: &error,
            });
            report.error = Some(error);
        }
    }
    (report, left)
}

#[derive(Debug, Default)]
struct FinishedHost {
    purged_images: Vec<String>,
    kept: Vec<KeptVolume>,
    removed_pool: bool,
}

/// The base images a destroy may purge on a host (see `volume_ownership`): those its deleted
/// overlays were made from, and the one the fleet names.
#[derive(Debug, Clone, Copy)]
struct ProvenImages<'a> {
    backing_paths: &'a BTreeSet<String>,
    own_image: Option<&'a str>,
}

/// After the nodes of a host are gone: report what is left with the fleet's names, purge the base
/// images fleet may, and remove a pool a whole-fleet purge left empty.
fn finish_host_teardown(
    contexts: &Contexts<'_>,
    target: &FleetTarget,
    host: &str,
    already_kept: &[KeptVolume],
    proven_images: ProvenImages<'_>,
    options: &DestroyOptions,
) -> Result<FinishedHost, Error> {
    let Some(Ok(context)) = contexts.get(host) else {
        return Ok(FinishedHost::default());
    };
    let connect = context.connections.get();
    let Some(pool) = context.pool_on(connect, &target.pool_name)? else {
        return Ok(FinishedHost::default());
    };
    let mut finished = FinishedHost::default();
    if !options.include_strays && !options.purge_image {
        return Ok(finished);
    }
    let list_volumes = || {
        pool.list_volumes().map_err(|error| {
            Error::libvirt(
                format!("listing volumes of pool {}", target.pool_name),
                &error,
            )
        })
    };
    let volume_at = |name: &str| -> Result<Option<(StorageVol, String)>, Error> {
        match ops::lookup_volume(&pool, name)? {
            Some(volume) => {
                let path = ops::volume_path(&volume, name)?;
                Ok(Some((volume, path)))
            }
            None => Ok(None),
        }
    };
    let whole_fleet = options.include_strays && options.keep.is_empty();
    if whole_fleet {
        // Every domain of the fleet has been torn down with its volumes: what still carries the
        // fleet's prefix was not shown to be fleet's (or another domain uses it), and stays.
        let prefix = names::fleet_volume_prefix(&target.name);
        for volume in list_volumes()?
            .into_iter()
            .filter(|volume| volume.starts_with(&prefix))
        {
            if already_kept
                .iter()
                .any(|kept| kept.host == host && kept.volume == volume)
            {
                continue;
            }
            let Some((_, path)) = volume_at(&volume)? else {
                continue;
            };
            let at = VolumeAt {
                name: &volume,
                pool: &target.pool_name,
                path: &path,
            };
            let reason = match volume_ownership::may_delete_unused(at, context.volume_users()?, "")
            {
                Err(in_use) => in_use,
                Ok(()) => KeptReason::Unproven {
                    fleet: target.name.clone(),
                },
            };
            finished.kept.push(KeptVolume {
                host: host.to_owned(),
                volume,
                reason,
            });
        }
    }
    if options.purge_image {
        let remaining = list_volumes()?;
        let mut backed_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for volume in &remaining {
            let Some(handle) = ops::lookup_volume(&pool, volume)? else {
                continue;
            };
            let Ok(xml) = handle.xml_desc(0) else {
                continue;
            };
            if let Some(backing) = ObservedVolume::parse(&xml)
                .ok()
                .and_then(|observed| observed.backing_path)
            {
                backed_by.entry(backing).or_default().push(volume.clone());
            }
        }
        for volume in remaining
            .iter()
            .filter(|volume| volume.starts_with(names::BASE_IMAGE_PREFIX))
        {
            let Some((handle, path)) = volume_at(volume)? else {
                continue;
            };
            let proven = proven_images.backing_paths.contains(&path)
                || proven_images.own_image == Some(volume.as_str());
            let at = VolumeAt {
                name: volume,
                pool: &target.pool_name,
                path: &path,
            };
            let verdict = if !proven {
                Err(KeptReason::NotThisFleetsImage {
                    fleet: target.name.clone(),
                })
            } else if let Some(volumes) = backed_by.get(&path) {
                Err(KeptReason::BacksVolumes {
                    volumes: volumes.clone(),
                })
            } else {
                volume_ownership::may_delete_unused(at, context.volume_users()?, "")
            };
            match verdict {
                Ok(()) => {
                    ops::delete_volume(&handle, volume, context.uri())?;
                    finished.purged_images.push(volume.clone());
                }
                Err(reason) => {
                    tracing::info!(%volume, %reason, "base image kept");
                    finished.kept.push(KeptVolume {
                        host: host.to_owned(),
                        volume: volume.clone(),
                        reason,
                    });
                }
            }
        }
        // A whole-fleet purge that leaves the pool empty removes the pool too: nothing of the
        // fleet stays behind, and nothing else was in it.
        if whole_fleet && list_volumes()?.is_empty() {
            ops::remove_pool(&pool, &target.pool_name)?;
            if uri::is_local(context.uri()) {
                // The test driver only pretends to remove the directory.
                let _ = std::fs::remove_dir(&context.pool.path);
            }
            finished.removed_pool = true;
        }
    }
    Ok(finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_results_keep_item_order() {
        let items: Vec<u32> = (0..100).collect();
        let doubled = run_parallel(&items, 7, &|item| {
            std::thread::yield_now();
            item * 2
        });
        assert_eq!(
            doubled,
            items.iter().map(|item| item * 2).collect::<Vec<_>>()
        );
        assert!(run_parallel::<u32, u32>(&[], 4, &|item| *item).is_empty());
    }
}
