#!/usr/bin/env python3
"""The synthetic rules as vectorised numpy over whole columns (what analysts' tools do).

Run: python3 baseline_numpy.py ../scenario.yaml   (needs PyYAML and numpy). Prints the
yearly metric totals and, to stderr, the compute time without the YAML load.
"""
import sys
import time

import numpy as np
import yaml

with open(sys.argv[1] if len(sys.argv) > 1 else "scenario.yaml", encoding="utf-8") as f:
    doc = yaml.safe_load(f)
p = doc["parameters"]
actors = doc["actors"]
flows = doc["flows"]
started = time.perf_counter()
kind = np.array([a["kind"] for a in actors])
index = {a["id"]: i for i, a in enumerate(actors)}
demand = np.array([float(a.get("attrs", {}).get("demand") or 0.0) for a in actors])
budget = np.array([float(a.get("attrs", {}).get("budget") or 0.0) for a in actors])
voucher = (kind == "startup") | (kind == "sme")
startup = kind == "startup"
public = kind == "public_user"
amount = np.array([float(f["amount"]) for f in flows])
power = np.array([f["kind"] == "power" for f in flows])
purchase = np.array([f.get("via") == "purchase" for f in flows])
buyer_kind = np.array([kind[index[f["from"]]] if f["from"] in index else "" for f in flows])
rate = np.where(buyer_kind == "large_firm", p["synth.credit_large"],
                np.where((buyer_kind == "sme") | (buyer_kind == "startup"), p["synth.credit_sme"], 0.0))
prepared = time.perf_counter()
start, end = doc["scenario"]["horizon"]["start"], doc["scenario"]["horizon"]["end"]
out = []
for year in range(start, end + 1):
    scale = 1 - p["synth.efficiency"]
    power_saved = (amount[power] * (1 - scale)).sum()
    procurement = budget[public].sum()
    credits = amount[purchase] * rate[purchase]
    tax_credit = credits[credits > 0].sum()
    grant = demand[voucher] * p["synth.gpu_hour_price"] * p["synth.coverage"]
    demand[startup] = demand[startup] * (1 + p["synth.growth"])
    out.append((year, *(float(x) for x in (grant.sum(), tax_credit, demand[startup].sum(), procurement, power_saved))))
done = time.perf_counter()
for year, v, t, d, pr, ps in out:
    print(f"{year} synth.voucher {v!r}")
    print(f"{year} synth.tax_credit {t!r}")
    print(f"{year} synth.demand {d!r}")
    print(f"{year} synth.procurement {pr!r}")
    print(f"{year} synth.power_saved {ps!r}")
print(f"timing.prepare_seconds={prepared - started:.6f}", file=sys.stderr)
print(f"timing.rules_seconds={done - prepared:.6f}", file=sys.stderr)
