"""The oracle for `gil sweep analyze`: reads a sweep's results.parquet with pyarrow,
runs SALib's own `sobol.analyze` or `morris.analyze` on its columns, and checks that
gil's indices (`gil sweep analyze DIR --format json`) are the same. The bootstrap
intervals come from other random resamples, so they are compared loosely.

Usage: python3 sweep.py DIR ANALYSIS.json   (exit 1 with the first difference)
"""

import json
import math
import sys

import numpy as np
import pyarrow.parquet as pq
from SALib.analyze import morris, sobol


def fail(message):
    print(message)
    sys.exit(1)


def same(name, ours, theirs, tol=1e-9):
    if not math.isclose(ours, theirs, rel_tol=tol, abs_tol=tol):
        fail(f"{name}: gil {ours!r}, SALib {theirs!r}")


def main():
    folder, analysis_file = sys.argv[1], sys.argv[2]
    manifest = json.load(open(f"{folder}/manifest.json"))
    analysis = json.load(open(analysis_file))
    table = pq.read_table(f"{folder}/results.parquet")
    names = [p["name"] for p in manifest["parameters"]]
    columns = table.column_names

    # The layout DESIGN.md gives: run, the parameters, outputs, targets, counts, error.
    if columns[0] != "run" or columns[1 : 1 + len(names)] != names:
        fail(f"columns {columns[: 1 + len(names)]} are not run + {names}")
    if columns[-3:] != ["findings.warn", "findings.error", "error"]:
        fail(f"the last columns are {columns[-3:]}")
    runs = table.column("run").to_pylist()
    if runs != list(range(manifest["runs"])):
        fail("rows are not runs 0..N in order")
    if str(table.schema.field("run").type) != "int64":
        fail("`run` is not int64")
    for n in names:
        if str(table.schema.field(n).type) != "double":
            fail(f"parameter column `{n}` is not float64")

    X = np.column_stack([table.column(n).to_numpy() for n in names])
    bounds = []
    for p in manifest["parameters"]:
        d = p["distribution"]
        if "uniform" not in d:
            fail(f"the oracle handles uniform parameters; `{p['name']}` is {d}")
        bounds.append([d["uniform"]["low"], d["uniform"]["high"]])
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}

    checked = 0
    for output in analysis["outputs"]:
        Y = table.column(output["output"]).to_numpy(zero_copy_only=False).astype(float)
        if manifest["design"] == "sobol":
            si = sobol.analyze(problem, Y, calc_second_order=True, seed=1)
            for j, index in enumerate(output["sobol"]):
                same(f"{output['output']} S1 {names[j]}", index["s1"], si["S1"][j])
                same(f"{output['output']} ST {names[j]}", index["st"], si["ST"][j])
                # Intervals from other resamples: the same size within a factor of two.
                for ours, theirs in [(index["s1_conf"], si["S1_conf"][j]),
                                     (index["st_conf"], si["ST_conf"][j])]:
                    if theirs > 1e-6 and not (0.5 < ours / theirs < 2.0):
                        fail(f"{output['output']} {names[j]}: interval ±{ours} vs SALib ±{theirs}")
                checked += 1
        elif manifest["design"] == "morris":
            si = morris.analyze(problem, X, Y, num_levels=manifest["levels"], seed=1)
            for j, index in enumerate(output["morris"]):
                same(f"{output['output']} mu {names[j]}", index["mu"], si["mu"][j])
                same(f"{output['output']} mu_star {names[j]}", index["mu_star"], si["mu_star"][j])
                same(f"{output['output']} sigma {names[j]}", index["sigma"], si["sigma"][j])
                checked += 1
        else:
            fail(f"no SALib analysis for a {manifest['design']} design")
        # The summary is numpy's.
        present = Y[~np.isnan(Y)]
        same(f"{output['output']} mean", output["summary"]["mean"], float(np.mean(present)))
        same(f"{output['output']} p05", output["summary"]["p05"], float(np.quantile(present, 0.05)))
        same(f"{output['output']} p95", output["summary"]["p95"], float(np.quantile(present, 0.95)))
    if checked == 0:
        fail("no index was compared")
    print(f"ok: {checked} indices equal SALib's")


main()
