#!/usr/bin/python
# -*- coding: utf-8 -*-
# The fleet.coreos.fleet module: fleet check, plan, diff and deploy from Ansible, with check mode
# and --diff. It runs the fleet binary on the controller; fleet itself reaches the hypervisors.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet
short_description: Check, plan, diff or deploy a fleet of Fedora CoreOS nodes on libvirt
description:
  - "Runs the C(fleet) command on the machine Ansible runs the task on (usually the controller,
    with C(delegate_to: localhost)); fleet reaches the hypervisors through libvirt itself."
  - C(check) and C(plan) only read the fleet file and never report a change.
  - C(diff) reports C(changed) when C(fleet diff) finds anything to do (its exit status 2).
  - C(deploy) makes libvirt match the fleet file and reports C(changed) when it created, repaired
    or replaced a node, or created a pool or imported the base image. In check mode it runs
    C(fleet deploy --dry-run) and touches nothing, reporting what a real run would change.
  - With C(--diff), every node that would be created, repaired, replaced or removed gets a
    before/after entry (the differing fields, as fleet observed and desires them).
version_added: "0.1.0"
author: fleet
options:
  command:
    description: What to run.
    type: str
    choices: [check, plan, diff, deploy]
    default: deploy
  fleet_file:
    description: The fleet file.
    type: path
    default: fleet.toml
  connect:
    description:
      - C(fleet --connect) values, C(URI) for a fleet without C([[host]]) or C(HOST=URI) for one
        of its hosts (diff and deploy).
    type: list
    elements: str
    default: []
  nodes:
    description: Only these nodes (diff and deploy).
    type: list
    elements: str
    default: []
  replace:
    description: Rebuild changed nodes (C(--replace), diff and deploy); Ignition runs on first boot only.
    type: bool
    default: false
  prune:
    description:
      - Also remove the fleet's nodes that the fleet file no longer has (C(--prune), diff and deploy),
        fleet-made domains of this fleet only, with the volumes fleet can prove it made.
      - Not with O(nodes). Without it such nodes are listed by C(diff) as C(remove) and left alone.
    type: bool
    default: false
  image:
    description: Use this base image file instead of the fleet file's (C(--image), diff and deploy).
    type: path
  saved_plan:
    description:
      - A saved diff. C(diff) writes it (C(fleet diff --out)); C(deploy) applies exactly it
        (C(fleet deploy --plan)), which fleet refuses when the fleet file or what runs changed since.
    type: path
  fleet_binary:
    description: The fleet binary; C(fleet-connected) must be beside it or on PATH.
    type: path
    default: fleet
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Fedora CoreOS nodes have no Python; reach them with M(ansible.builtin.raw) only.
"""

EXAMPLES = r"""
- name: Check the fleet file
  fleet.coreos.fleet:
    command: check
    fleet_file: fleet/fleet.toml

- name: Deploy the canaries first, rebuilding changed ones
  fleet.coreos.fleet:
    command: deploy
    fleet_file: fleet/fleet.toml
    nodes: "{{ groups['canary'] }}"
    replace: true
"""

RETURN = r"""
plan:
  description: C(fleet plan --format json) (command plan), also set as the fact C(fleet_plan).
  returned: when command is plan
  type: dict
fleet_diff:
  description: C(fleet diff --format json) (command diff), also set as the fact C(fleet_diff).
  returned: when command is diff
  type: dict
deploy:
  description: C(fleet deploy --format json), a dry run in check mode (command deploy), also set as the fact C(fleet_deploy).
  returned: when command is deploy
  type: dict
differing:
  description: Nodes that differ from the fleet file but were left as they are (deploy without replace).
  returned: when command is deploy
  type: list
  elements: str
stdout:
  description: What fleet printed on standard output.
  returned: always
  type: str
stderr:
  description: What fleet printed on standard error (its progress and warnings).
  returned: always
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

# What a deploy does to a node that counts as a change; `changed` and `conflict` are only reported.
DEPLOY_CHANGES = ("create", "repair", "replace")


def fleet_command(module, binary, arguments):
    rc, stdout, stderr = module.run_command([binary] + arguments)
    return rc, stdout, stderr


def parse_json(module, stdout, stderr, what):
    try:
        return json.loads(stdout)
    except ValueError:
        module.fail_json(msg="%s printed no JSON" % what, stdout=stdout, stderr=stderr)


def node_text(fields):
    return "".join("%s: %s\n" % (name, value) for name, value in fields)


def difference_fields(differences, side):
    fields = []
    for difference in differences:
        if isinstance(difference, dict):
            fields.append((difference.get("field", "?"), difference.get(side, "")))
        else:
            fields.append(("difference", str(difference)))
    return fields


def deploy_diffs(report):
    diffs = []
    for node in report.get("nodes", []):
        action = node.get("action")
        header = "%s on %s" % (node.get("name"), node.get("host"))
        if action == "create":
            diffs.append({"before_header": header, "after_header": header, "before": "",
                          "after": node_text([("node", node.get("name")), ("host", node.get("host")),
                                              ("role", node.get("role"))])})
        elif action == "repair":
            diffs.append({"before_header": header, "after_header": header,
                          "before": node_text([("repair", repair) for repair in node.get("repairs", [])]),
                          "after": ""})
        elif action in ("replace", "changed"):
            differences = node.get("differences", [])
            diffs.append({"before_header": header, "after_header": header,
                          "before": node_text(difference_fields(differences, "observed")),
                          "after": node_text(difference_fields(differences, "desired"))})
    for removal in report.get("removals", []):
        header = "%s on %s" % (removal.get("node"), removal.get("host"))
        diffs.append({"before_header": header, "after_header": header,
                      "before": node_text([("node", removal.get("node")), ("host", removal.get("host"))]),
                      "after": ""})
    return diffs


def diff_diffs(report):
    diffs = []
    for node in report.get("nodes", []):
        action = node.get("action")
        header = "%s on %s" % (node.get("node"), node.get("host"))
        differences = node.get("differences", [])
        if action == "create":
            diffs.append({"before_header": header, "after_header": header, "before": "",
                          "after": node_text([("node", node.get("node")), ("host", node.get("host"))])})
        elif action == "remove":
            diffs.append({"before_header": header, "after_header": header,
                          "before": node_text([("node", node.get("node")), ("host", node.get("host"))]),
                          "after": ""})
        elif action == "change":
            diffs.append({"before_header": header, "after_header": header,
                          "before": node_text(difference_fields(differences, "observed")),
                          "after": node_text(difference_fields(differences, "desired"))})
    return diffs


def deploy_changed(report):
    if any(node.get("action") in DEPLOY_CHANGES for node in report.get("nodes", [])):
        return True
    if report.get("removals"):
        return True
    return any(host.get("pool_created") or host.get("image_imported") for host in report.get("hosts", []))


def run_check(module, binary, fleet_file):
    rc, stdout, stderr = fleet_command(module, binary, ["check", fleet_file])
    if rc != 0:
        module.fail_json(msg="fleet check refused %s" % fleet_file, rc=rc, stdout=stdout, stderr=stderr)
    module.exit_json(changed=False, stdout=stdout, stderr=stderr)


def run_plan(module, binary, fleet_file):
    rc, stdout, stderr = fleet_command(module, binary, ["plan", fleet_file, "--format", "json"])
    if rc != 0:
        module.fail_json(msg="fleet plan failed", rc=rc, stdout=stdout, stderr=stderr)
    plan = parse_json(module, stdout, stderr, "fleet plan")
    module.exit_json(changed=False, plan=plan, ansible_facts={"fleet_plan": plan}, stdout=stdout, stderr=stderr)


def selection_arguments(module):
    arguments = []
    for node in module.params["nodes"]:
        arguments += ["--node", node]
    if module.params["replace"]:
        arguments.append("--replace")
    if module.params["image"]:
        arguments += ["--image", module.params["image"]]
    if module.params["prune"]:
        arguments.append("--prune")
    return arguments


def run_diff(module, binary, fleet_file, connect):
    arguments = ["diff", fleet_file, "--format", "json"] + connect + selection_arguments(module)
    if module.params["saved_plan"]:
        arguments += ["--out", module.params["saved_plan"]]
    rc, stdout, stderr = fleet_command(module, binary, arguments)
    if rc not in (0, 2):
        module.fail_json(msg="fleet diff failed", rc=rc, stdout=stdout, stderr=stderr)
    report = parse_json(module, stdout, stderr, "fleet diff")
    result = {"changed": rc == 2, "fleet_diff": report, "ansible_facts": {"fleet_diff": report},
              "stdout": stdout, "stderr": stderr}
    if module._diff:
        result["diff"] = diff_diffs(report)
    module.exit_json(**result)


def run_saved_plan(module, binary, connect):
    """Apply exactly a saved diff (fleet deploy --plan); in check mode, report what it holds."""
    saved_plan = module.params["saved_plan"]
    if connect or selection_arguments(module):
        module.fail_json(msg="a saved plan holds its connections, image, nodes, replace and prune: "
                             "give saved_plan alone")
    if module.check_mode:
        try:
            with open(saved_plan, encoding="utf-8") as saved:
                report = json.load(saved)
        except (OSError, ValueError) as error:
            module.fail_json(msg="cannot read the saved plan %s: %s" % (saved_plan, error))
        result = {"changed": report.get("changes", 0) > 0, "fleet_diff": report,
                  "ansible_facts": {"fleet_diff": report}}
        if module._diff:
            result["diff"] = diff_diffs(report)
        module.exit_json(**result)
    rc, stdout, stderr = fleet_command(module, binary, ["deploy", "--plan", saved_plan, "--format", "json"])
    finish_deploy(module, rc, stdout, stderr)


def run_deploy(module, binary, fleet_file, connect):
    if module.params["saved_plan"]:
        run_saved_plan(module, binary, connect)
        return
    arguments = ["deploy", fleet_file, "--format", "json"] + connect + selection_arguments(module)
    if module.check_mode:
        arguments.append("--dry-run")
    rc, stdout, stderr = fleet_command(module, binary, arguments)
    finish_deploy(module, rc, stdout, stderr)


def finish_deploy(module, rc, stdout, stderr):
    report = None
    if stdout.strip():
        report = parse_json(module, stdout, stderr, "fleet deploy")
    if rc != 0 or report is None:
        module.fail_json(msg="fleet deploy failed", rc=rc, deploy=report, stdout=stdout, stderr=stderr)
    differing = [node.get("name") for node in report.get("nodes", []) if node.get("action") == "changed"]
    result = {"changed": deploy_changed(report), "deploy": report, "differing": differing,
              "ansible_facts": {"fleet_deploy": report}, "stdout": stdout, "stderr": stderr}
    if differing:
        module.warn("%d node(s) differ from the fleet file and were left as they are (set replace: true "
                    "to rebuild them): %s" % (len(differing), ", ".join(differing)))
    if module._diff:
        result["diff"] = deploy_diffs(report)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec={
            "command": {"type": "str", "choices": ["check", "plan", "diff", "deploy"], "default": "deploy"},
            "fleet_file": {"type": "path", "default": "fleet.toml"},
            "connect": {"type": "list", "elements": "str", "default": []},
            "nodes": {"type": "list", "elements": "str", "default": []},
            "replace": {"type": "bool", "default": False},
            "prune": {"type": "bool", "default": False},
            "image": {"type": "path"},
            "fleet_binary": {"type": "path", "default": "fleet"},
            "saved_plan": {"type": "path"},
        },
        supports_check_mode=True,
    )
    binary = module.params["fleet_binary"]
    if os.path.sep not in binary:
        binary = module.get_bin_path(binary, required=True)
    fleet_file = module.params["fleet_file"]
    connect = []
    for value in module.params["connect"]:
        connect += ["--connect", value]
    command = module.params["command"]
    if command == "check":
        run_check(module, binary, fleet_file)
    elif command == "plan":
        run_plan(module, binary, fleet_file)
    elif command == "diff":
        run_diff(module, binary, fleet_file, connect)
    else:
        run_deploy(module, binary, fleet_file, connect)


if __name__ == "__main__":
    main()
