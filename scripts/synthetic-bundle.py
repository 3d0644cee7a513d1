#!/usr/bin/env python3
"""Writes a synthetic ATT&CK-compatible STIX 2.1 bundle with N techniques (default 2000)
over 12 tactics to stdout, for measuring how ttpmap copes with a large user matrix:

    scripts/synthetic-bundle.py 2000 > /tmp/synthetic-2000.json
    ttpmap vectors /tmp/synthetic-2000.json --out /tmp

Each technique gets a two-sentence description, like a Workbench export's."""
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
tactics = 12
verbs = ["enumerates", "modifies", "exfiltrates", "encrypts", "injects into", "schedules", "disables", "collects"]
things = ["service accounts", "registry keys", "storage buckets", "container images", "mail rules", "firewall policies", "build pipelines", "backup snapshots"]
objects = [{
    "type": "x-mitre-matrix", "id": "x-mitre-matrix--synthetic", "name": "Synthetic matrix",
    "tactic_refs": [f"x-mitre-tactic--{i}" for i in range(tactics)],
    "external_references": [{"source_name": "synthetic", "external_id": "synthetic-matrix"}],
}]
for i in range(tactics):
    objects.append({"type": "x-mitre-tactic", "id": f"x-mitre-tactic--{i}", "name": f"Tactic {i}",
                    "x_mitre_shortname": f"tactic-{i}",
                    "external_references": [{"source_name": "synthetic", "external_id": f"ST{i:04}"}]})
for i in range(n):
    v, t = verbs[i % len(verbs)], things[(i // len(verbs)) % len(things)]
    objects.append({
        "type": "attack-pattern", "id": f"attack-pattern--{i}", "name": f"Technique {i}: {v} {t}",
        "description": f"The adversary {v} {t} on host group {i}. This lets them continue the intrusion unnoticed.",
        "kill_chain_phases": [{"kill_chain_name": "synthetic", "phase_name": f"tactic-{i % tactics}"}],
        "external_references": [{"source_name": "synthetic", "external_id": f"SX{i:05}"}],
    })
json.dump({"type": "bundle", "id": "bundle--synthetic", "objects": objects}, sys.stdout)
