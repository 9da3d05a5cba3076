"""The oracle for `gil run --format parquet`: reads the folder with pyarrow and checks
every table against the JSON outcome of the same run (`--format json --flows`).

Usage: python3 tables.py DIR OUTCOME.json   (exit 1 with the first difference)
"""

import json
import math
import sys
from collections import defaultdict

import pyarrow.parquet as pq

TABLES = ["metrics", "ledger", "flows", "findings", "targets", "power", "compute",
          "loops", "roles", "checks"]


def close(a, b):
    return a == b or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9))


def fail(message):
    print(message)
    sys.exit(1)


def rows(folder, name):
    table = pq.read_table(f"{folder}/{name}.parquet")
    metadata = pq.ParquetFile(f"{folder}/{name}.parquet").metadata
    # Strings are dictionary-encoded in the file (DESIGN: "Strings are dictionary-encoded").
    for rg in range(metadata.num_row_groups):
        for c in range(metadata.num_columns):
            column = metadata.row_group(rg).column(c)
            if column.physical_type == "BYTE_ARRAY" and not any("DICTIONARY" in e for e in column.encodings):
                fail(f"{name}.{column.path_in_schema}: not dictionary-encoded ({column.encodings})")
    return table.to_pylist()


def main(folder, outcome_path):
    outcome = json.load(open(outcome_path))
    summary = json.load(open(f"{folder}/outcome.json"))
    if summary["scenario"] != outcome["scenario"] or summary["analyses"] != outcome["analyses"]:
        fail("outcome.json: the scenario or the analyses differ from the JSON outcome")
    if summary["tables"] != TABLES:
        fail(f"outcome.json lists {summary['tables']}")

    expected = [(s["year"], m, v) for s in outcome["steps"] for m, v in s["metrics"].items()]
    got = [(r["year"], r["metric"], r["value"]) for r in rows(folder, "metrics")]
    if len(got) != len(expected) or any(g[:2] != e[:2] or not close(g[2], e[2]) for g, e in zip(got, expected)):
        fail(f"metrics: {len(got)} rows, expected {len(expected)}; first difference "
             f"{next(((g, e) for g, e in zip(got, expected) if g != e), None)}")

    expected = []
    for s in outcome["steps"]:
        for actor, entry in s["ledger"].items():
            for side in ("in", "out"):
                for kind, vias in entry[side].items():
                    for via, amount in vias.items():
                        expected.append((s["year"], actor, kind, None if via == "-" else via, side, amount))
    got = [(r["year"], r["actor"], r["kind"], r["via"], r["side"], r["amount"]) for r in rows(folder, "ledger")]
    if got != expected:
        fail(f"ledger: {len(got)} rows, expected {len(expected)}")

    expected = [(s["year"], f["id"], f["from"], f["to"], f["kind"], f.get("via"), f["amount"], f["unit"])
                for s in outcome["steps"] for f in s["flows"]]
    flows = rows(folder, "flows")
    got = [(r["year"], r["id"], r["from"], r["to"], r["kind"], r["via"], r["amount"], r["unit"]) for r in flows]
    if sorted(got) != sorted(expected):
        fail(f"flows: {len(got)} rows, expected {len(expected)}")
    for r in flows:
        if (r["origin"] == "rule") != (r["rule"] is not None and r["file"] is not None and r["line"] > 0):
            fail(f"flows: origin {r['origin']} with rule {r['rule']} at {r['file']}:{r['line']}")
    # Every rule flow's rule is one of the scenario's rules.
    rules = {r["id"] for r in outcome["scenario"]["rules"]}
    if any(r["rule"] not in rules for r in flows if r["origin"] == "rule"):
        fail("flows: a rule flow names a rule the scenario does not have")

    expected = [(f.get("step"), f["level"], f["code"], f.get("subject"), f["message"], f.get("rule"), f.get("at"))
                for f in outcome["findings"]]
    got = [(r["year"], r["level"], r["code"], r["subject"], r["message"], r["rule"], r["at"]) for r in rows(folder, "findings")]
    if got != expected:
        fail(f"findings: {got[:3]} … expected {expected[:3]} …")

    analyses = outcome["analyses"]
    got = rows(folder, "targets")
    expected = [{"project": t["project"], "metric": t["metric"], "at_least": t.get("at_least"),
                 "at_most": t.get("at_most"), "by": t["by"], "value_by": t["value_by"], "met": t["met"],
                 "first_met": t.get("first_met")} for t in analyses["targets"]]
    if got != expected:
        fail(f"targets: {got} expected {expected}")

    got = [(r["year"], r["region"], r["demand_mw"], r["capacity_mw"], r["shortfall_mw"]) for r in rows(folder, "power")]
    expected = [(p["year"], p["region"], p["demand_mw"], p["capacity_mw"], p["shortfall_mw"]) for p in analyses["power"]]
    if got != expected:
        fail("power differs")

    got = [(r["year"], r["cluster"], r["supply_gpu_hours"], r["demand_gpu_hours"], r["overcommitted"])
           for r in rows(folder, "compute")]
    expected = [(c["year"], c["cluster"], c["supply"], c["demand"], c["overcommitted"]) for c in analyses["compute"]]
    if got != expected:
        fail("compute differs")

    by_loop = defaultdict(list)
    for r in rows(folder, "loops"):
        by_loop[r["loop"]].append(r)
    if len(by_loop) != len(analyses["circular"]):
        fail(f"loops: {len(by_loop)} loops, expected {len(analyses['circular'])}")
    for i, loop in enumerate(analyses["circular"]):
        edges = by_loop[i]
        if [e["from"] for e in edges] != loop["path"] or [e["amount"] for e in edges] != loop["edges"]:
            fail(f"loop {i} differs")
        if edges[-1]["to"] != loop["path"][0] or any(e["bottleneck"] != loop["bottleneck"] for e in edges):
            fail(f"loop {i} does not close or has another bottleneck")

    got = rows(folder, "roles")
    expected = [(p["project"], a["actor"], a["kind"], "what" in a["roles"], "how" in a["roles"],
                 "why" in a["roles"], "; ".join(a["from"]), a["flows"]["money_in"], a["flows"]["peak_mw"])
                for p in outcome["roles"] for a in p["participants"]]
    got = [(r["project"], r["actor"], r["kind"], r["what"], r["how"], r["why"], r["from"], r["money_in"],
            r["peak_mw"]) for r in got]
    if got != expected:
        fail("roles differ")

    got = [(r["project"], r["check"], r["status"], r["message"]) for r in rows(folder, "checks")]
    expected = [(p["project"], c["id"], c["status"], c["message"]) for p in outcome["roles"] for c in p["checks"]]
    if got != expected:
        fail("checks differ")
    print(f"ok: {sum(pq.read_metadata(f'{folder}/{t}.parquet').num_rows for t in TABLES)} rows in {len(TABLES)} tables")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
