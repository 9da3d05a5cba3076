#!/usr/bin/env python3
"""The synthetic rules as a straightforward Python script over the YAML.

Run: python3 baseline.py ../scenario.yaml   (needs PyYAML). Prints the yearly metric
totals, which gil's outcome must match, and the time taken to stderr.
"""
import sys
import time

import yaml

started = time.perf_counter()
with open(sys.argv[1] if len(sys.argv) > 1 else "scenario.yaml", encoding="utf-8") as f:
    doc = yaml.safe_load(f)
loaded = time.perf_counter()
p = doc["parameters"]
actors = doc["actors"]
flows = doc["flows"]
by_id = {a["id"]: a for a in actors}
demand = {a["id"]: a.get("attrs", {}).get("demand") for a in actors}
start, end = doc["scenario"]["horizon"]["start"], doc["scenario"]["horizon"]["end"]
for year in range(start, end + 1):
    m = {"voucher": 0.0, "tax_credit": 0.0, "demand": 0.0, "procurement": 0.0, "power_saved": 0.0}
    created = []
    for f in flows:
        if f["kind"] == "power":
            scale = 1 - p["synth.efficiency"]
            m["power_saved"] += f["amount"] * (1 - scale)
    for a in actors:
        if a["kind"] == "public_user":
            created.append((a["id"], a["attrs"]["platform"], a["attrs"]["budget"]))
            m["procurement"] += a["attrs"]["budget"]
    for f in flows:
        if f.get("via") == "purchase":
            buyer = by_id[f["from"]]
            rate = 0
            if buyer["kind"] == "large_firm":
                rate = p["synth.credit_large"]
            elif buyer["kind"] in ("sme", "startup"):
                rate = p["synth.credit_sme"]
            if rate > 0:
                created.append(("gov", buyer["id"], f["amount"] * rate))
                m["tax_credit"] += f["amount"] * rate
    for a in actors:
        if a["kind"] in ("startup", "sme"):
            grant = demand[a["id"]] * p["synth.gpu_hour_price"] * p["synth.coverage"]
            created.append(("agency", a["id"], grant))
            m["voucher"] += grant
    for a in actors:
        if a["kind"] == "startup":
            demand[a["id"]] = demand[a["id"]] * (1 + p["synth.growth"])
            m["demand"] += demand[a["id"]]
    for name in ("voucher", "tax_credit", "demand", "procurement", "power_saved"):
        print(f"{year} synth.{name} {m[name]!r}")
done = time.perf_counter()
print(f"timing.load_seconds={loaded - started:.6f}", file=sys.stderr)
print(f"timing.rules_seconds={done - loaded:.6f}", file=sys.stderr)
print(f"timing.total_seconds={done - started:.6f}", file=sys.stderr)
