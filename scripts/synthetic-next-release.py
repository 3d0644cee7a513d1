#!/usr/bin/env python3
"""Derives a synthetic next Enterprise ATT&CK release from the v18.1 bundle, changed the way
ATT&CK v19 changed v18 (by public accounts of that release), for testing how ttpmap follows
a newer release. Python 3 standard library only; deterministic (same input, same bytes).

    scripts/synthetic-next-release.py [--source ../shared/data/attack/enterprise-attack-18.1.json]
                                      [--compact] [--out FILE]

What changes against v18.1:

- an x-mitre-collection object ("Enterprise ATT&CK", x_mitre_version "19.0"), which
  MITRE's assembled v18.1 bundle lacks;
- Defense Evasion (TA0005) renamed Stealth (shortname `stealth`; its techniques follow);
- a new tactic, TA0112 Defense Impairment (`defense-impairment`), placed after Stealth in
  the x-mitre-matrix's tactic_refs;
- Impair Defenses (T1562) and its sub-techniques revoked by a new T1685 family in Defense
  Impairment (new attack-pattern objects, `revoked: true` on the old ones, "revoked-by"
  relationships, subtechnique-of relationships for the new sub-techniques), with
  - a merge: T1562.002 (Windows event logging) and T1562.008 (cloud logs) both revoked by
    T1685.002 "Disable or Modify Logging";
  - a chain: T1562.012 revoked by T1685.012, itself revoked by T1685.002 (and v18.1's own
    T1089 -> T1562.001 becomes T1089 -> T1562.001 -> T1685.001);
  - T1562.010 (Downgrade Attack) deprecated without successor;
- a brand-new technique, T1686 "AI Agent Prompt Injection" (Execution), which no
  classifier trained on v18.1 has a label for.

`--compact` writes the small test fixture instead of the whole bundle: the collection, the
matrix, the tactics, every attack-pattern (revoked and deprecated ones included) with only
the fields ttpmap reads, its description cut to the first paragraph (new techniques keep
theirs), and the revoked-by and subtechnique-of relationships; no procedure examples.
"""
import argparse
import json
import sys
import uuid

NAMESPACE = uuid.UUID("6f1d2c1e-9d1b-4c3e-8a55-1d0a5e7e1900")
CREATED = "2026-04-28T12:00:00.000Z"
VERSION = "19.0"
MITRE_IDENTITY = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"

STEALTH = ("defense-evasion", "stealth", "Stealth")
IMPAIRMENT_ID = "TA0112"
IMPAIRMENT_SHORT = "defense-impairment"
IMPAIRMENT_NAME = "Defense Impairment"

# old sub-technique number -> new sub-technique number under T1685 (None: the parent)
MERGED_LOGGING = {"T1562.002", "T1562.008"}
CHAINED = "T1562.012"
DEPRECATED = "T1562.010"
NEW_LOGGING_NAME = "Disable or Modify Logging"
NEW_LOGGING_DESCRIPTION = (
    "Adversaries may disable or modify logging to avoid leaving a record of their activity, "
    "whether host event logs such as the Windows event log and Linux audit logs or the logs "
    "of cloud services and SaaS applications. They may stop the logging service, change its "
    "policy so that chosen events are no longer recorded, or delete the log configuration."
)
NEW_TECHNIQUE = {
    "id": "T1686",
    "name": "AI Agent Prompt Injection",
    "tactic": "execution",
    "platforms": ["SaaS", "Office Suite", "Windows", "macOS", "Linux"],
    "description": (
        "Adversaries may hide instructions for an AI assistant or large language model (LLM) "
        "agent inside content the agent reads, such as a shared document, a web page, an "
        "email, a calendar invite or a code comment, so that the agent carries out the "
        "adversary's instructions with the victim's permissions.\n\n"
        "Because LLM agents cannot reliably tell the user's request from text in the data "
        "they process, an injected prompt can make an assistant summarise and forward "
        "confidential mailbox contents, call tools and plugins the adversary chose, or "
        "write attacker-supplied code into a repository. Injected prompts are often "
        "invisible to the user: white text, HTML comments, or Unicode tag characters."
    ),
}


def stix_id(kind, name):
    return f"{kind}--{uuid.uuid5(NAMESPACE, name)}"


def ext_id(o):
    for r in o.get("external_references", []):
        if r.get("source_name") == "mitre-attack" and r.get("external_id"):
            return r["external_id"]
    return None


def technique_url(tid):
    return "https://attack.mitre.org/techniques/" + tid.replace(".", "/")


def attack_pattern(tid, name, description, phase, platforms, subtechnique):
    return {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": stix_id("attack-pattern", tid),
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": MITRE_IDENTITY,
        "name": name,
        "description": description,
        "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": phase}],
        "external_references": [{"source_name": "mitre-attack", "external_id": tid, "url": technique_url(tid)}],
        "x_mitre_domains": ["enterprise-attack"],
        "x_mitre_platforms": platforms,
        "x_mitre_is_subtechnique": subtechnique,
        "x_mitre_version": "1.0",
        "x_mitre_deprecated": False,
        "revoked": False,
    }


def relationship(kind, source, target):
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": stix_id("relationship", f"{kind}:{source}:{target}"),
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": MITRE_IDENTITY,
        "relationship_type": kind,
        "source_ref": source,
        "target_ref": target,
    }


def derive(objects):
    by_ext = {}
    for o in objects:
        if o.get("type") == "attack-pattern" and not o.get("revoked") and not o.get("x_mitre_deprecated"):
            by_ext[ext_id(o)] = o
    out = []
    added = []
    revoked_by = {}  # old STIX id -> new STIX id

    impaired = sorted(t for t in by_ext if t == "T1562" or t.startswith("T1562."))
    new_family = {}  # new ID -> object
    for old in impaired:
        o = by_ext[old]
        if old == DEPRECATED:
            continue
        if old in MERGED_LOGGING:
            new = "T1685.002"
        else:
            new = "T1685" + old[len("T1562"):]
        if new not in new_family:
            name, description = o["name"], o.get("description", "")
            if new == "T1685.002":
                name, description = NEW_LOGGING_NAME, NEW_LOGGING_DESCRIPTION
            new_family[new] = attack_pattern(
                new, name, description, IMPAIRMENT_SHORT, o.get("x_mitre_platforms", []), "." in new
            )
        revoked_by[o["id"]] = new_family[new]["id"]
    # The chain: T1685.012 is made and revoked in the same release, by T1685.002.
    chained_new = new_family["T1685.012"]
    chained_new["revoked"] = True
    revoked_by[chained_new["id"]] = new_family["T1685.002"]["id"]
    added.extend(new_family[k] for k in sorted(new_family))
    for new, o in sorted(new_family.items()):
        if "." in new and not o["revoked"]:
            added.append(relationship("subtechnique-of", o["id"], new_family["T1685"]["id"]))
    added.extend(relationship("revoked-by", s, t) for s, t in sorted(revoked_by.items()))
    added.append(attack_pattern(
        NEW_TECHNIQUE["id"], NEW_TECHNIQUE["name"], NEW_TECHNIQUE["description"],
        NEW_TECHNIQUE["tactic"], NEW_TECHNIQUE["platforms"], False,
    ))

    stealth_ids = stealth_tactic_ids(objects)
    impairment = {
        "type": "x-mitre-tactic",
        "spec_version": "2.1",
        "id": stix_id("x-mitre-tactic", IMPAIRMENT_ID),
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": MITRE_IDENTITY,
        "name": IMPAIRMENT_NAME,
        "description": "The adversary is trying to weaken or disable your defenses.\n\n"
        "Defense Impairment consists of techniques that adversaries use to disable, degrade or "
        "tamper with security tools, logging and other defensive controls.",
        "external_references": [{"source_name": "mitre-attack", "external_id": IMPAIRMENT_ID,
                                 "url": f"https://attack.mitre.org/tactics/{IMPAIRMENT_ID}"}],
        "x_mitre_shortname": IMPAIRMENT_SHORT,
        "x_mitre_domains": ["enterprise-attack"],
        "x_mitre_version": "1.0",
    }
    collection = {
        "type": "x-mitre-collection",
        "spec_version": "2.1",
        "id": "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019",
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": MITRE_IDENTITY,
        "name": "Enterprise ATT&CK",
        "description": f"Synthetic Enterprise ATT&CK {VERSION}, derived by ttpmap's "
        "scripts/synthetic-next-release.py from v18.1 for testing; not a MITRE release.",
        "x_mitre_version": VERSION,
        "x_mitre_attack_spec_version": "3.3.0",
    }
    out.append(collection)
    for o in objects:
        o = dict(o)
        kind = o.get("type")
        if kind == "x-mitre-tactic" and o.get("x_mitre_shortname") == STEALTH[0]:
            o["x_mitre_shortname"], o["name"] = STEALTH[1], STEALTH[2]
            o["description"] = "The adversary is trying to avoid being detected.\n\n" + o.get("description", "").split("\n\n", 1)[-1]
        elif kind == "x-mitre-matrix":
            refs = []
            for r in o["tactic_refs"]:
                refs.append(r)
                if r in stealth_ids:
                    refs.append(impairment["id"])
            o["tactic_refs"] = refs
        elif kind == "attack-pattern":
            if o["id"] in revoked_by:
                o["revoked"] = True
            elif ext_id(o) == DEPRECATED:
                o["x_mitre_deprecated"] = True
            o["kill_chain_phases"] = [
                dict(p, phase_name=STEALTH[1]) if p.get("phase_name") == STEALTH[0] else p
                for p in o.get("kill_chain_phases", [])
            ]
        out.append(o)
        if kind == "x-mitre-tactic" and o.get("x_mitre_shortname") == STEALTH[1]:
            out.append(impairment)
    out.extend(added)
    return out


def stealth_tactic_ids(objects):
    return {o["id"] for o in objects if o.get("type") == "x-mitre-tactic" and o.get("x_mitre_shortname") == STEALTH[0]}


def first_paragraph(text):
    return text.strip().split("\n\n", 1)[0][:300]


def compact(objects):
    keep = ("type", "id", "name", "description", "kill_chain_phases", "x_mitre_domains", "x_mitre_platforms",
            "x_mitre_is_subtechnique", "x_mitre_shortname", "tactic_refs", "revoked",
            "x_mitre_deprecated", "relationship_type", "source_ref", "target_ref")
    new_ids = {o["id"] for o in objects if o.get("created") == CREATED}
    out = []
    for o in objects:
        kind = o.get("type")
        if kind == "relationship" and o.get("relationship_type") not in ("revoked-by", "subtechnique-of"):
            continue
        if kind not in ("relationship", "attack-pattern", "x-mitre-tactic", "x-mitre-matrix", "x-mitre-collection"):
            continue
        c = {k: o[k] for k in keep if k in o}
        if kind == "x-mitre-collection":
            c["x_mitre_version"] = o["x_mitre_version"]
        if kind != "relationship":
            refs = [r for r in o.get("external_references", []) if r.get("external_id")][:1]
            c["external_references"] = refs
        if kind == "attack-pattern" and o["id"] not in new_ids:
            c["description"] = first_paragraph(o.get("description", ""))
        out.append(c)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default="../shared/data/attack/enterprise-attack-18.1.json")
    p.add_argument("--compact", action="store_true", help="write the small test fixture")
    p.add_argument("--out", help="output file (default: stdout)")
    a = p.parse_args()
    with open(a.source, encoding="utf-8") as f:
        bundle = json.load(f)
    objects = derive(bundle["objects"])
    if a.compact:
        objects = compact(objects)
    result = {"type": "bundle", "id": stix_id("bundle", f"enterprise-attack-{VERSION}-{a.compact}"), "objects": objects}
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False, sort_keys=False)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
