"""Computes an experiment's intervals with statsmodels, for comparison with the domain's.

stdin: JSON list of datasets, each
  {"treatment": {"carts": n, "recovered": [amount, ...]},
   "control":   {"carts": n, "recovered": [amount, ...]},
   "lift": absolute lift to plan for}
(carts not in "recovered" recovered nothing: revenue 0).
stdout: JSON list, one per dataset, with null where statsmodels gives no finite answer:
  {"newcombe": [low, high], "ratio": [low, high] | null, "welch": [low, high] | null,
   "sample_size_treatment": float | null}
"""
import json
import math
import sys
import warnings

import numpy as np
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    samplesize_proportions_2indep_onetail,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

warnings.simplefilter("ignore")  # 0/0 and flat samples warn; they become null


def finite_pair(pair):
    low, high = (float(v) for v in pair)
    return [low, high] if math.isfinite(low) and math.isfinite(high) else None


def revenue(group):
    values = np.zeros(group["carts"])
    values[: len(group["recovered"])] = group["recovered"]
    return values


results = []
for data in json.load(sys.stdin):
    t, c = data["treatment"], data["control"]
    xt, nt, xc, nc = len(t["recovered"]), t["carts"], len(c["recovered"]), c["carts"]
    newcombe = confint_proportions_2indep(xt, nt, xc, nc, method="newcomb", compare="diff")
    ratio = None
    if xt > 0 and xc > 0:
        ratio = finite_pair(confint_proportions_2indep(xt, nt, xc, nc, method="log", compare="ratio"))
    welch = finite_pair(
        CompareMeans(DescrStatsW(revenue(t)), DescrStatsW(revenue(c))).tconfint_diff(
            alpha=0.05, usevar="unequal"
        )
    )
    baseline = xc / nc
    size = samplesize_proportions_2indep_onetail(
        diff=data["lift"], prop2=baseline, power=0.8, ratio=nc / nt, alpha=0.05,
        alternative="two-sided",
    )
    results.append({
        "newcombe": finite_pair(newcombe),
        "ratio": ratio,
        "welch": welch,
        "sample_size_treatment": float(size) if math.isfinite(size) else None,
    })
json.dump(results, sys.stdout)
