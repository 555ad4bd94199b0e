#!/usr/bin/env python3
"""Cross-checks the `fairness` block of Lethe metrics.json files against Fairlearn (pip install
fairlearn): rebuilds each split's labels, predictions and groups from the per-group confusion
counts (the metrics depend on nothing else) and compares demographic_parity_difference,
equalized_odds_difference, equal_opportunity_difference and per-group TPR/FPR/selection rate.

Where a rate is 0/0 Lethe reports null and Fairlearn 0 (a group with no positive row has TPR 0
in Fairlearn, and a split with one group has every difference 0); those entries are counted as
"undefined in Lethe" and listed with Fairlearn's value, not as mismatches.

    python3 scripts/check_fairlearn.py runs/fair/*/*/*/metrics.json
"""
import json
import sys
import warnings

import numpy as np
from fairlearn import metrics as fm

warnings.simplefilter("ignore")  # Fairlearn/scikit-learn warn on the 0/0 rates
checked = mismatches = undefined = 0
for path in sys.argv[1:]:
    m = json.load(open(path))
    for split, f in m.get("fairness", {}).get("splits", {}).items():
        if "per_group" not in f or "demographic_parity_difference" not in f:
            continue  # more than two classes: accuracy only
        y, p, g = [], [], []
        for grp in f["per_group"]:
            c = grp["confusion"]
            for yy, pp, key in ((1, 1, "tp"), (0, 1, "fp"), (0, 0, "tn"), (1, 0, "fn")):
                y += [yy] * c[key]
                p += [pp] * c[key]
                g += [grp["group"]] * c[key]
        if not y:
            continue
        y, p, g = np.array(y), np.array(p), np.array(g)
        pairs = [(f[k], getattr(fm, k)(y, p, sensitive_features=g), split + " " + k)
                 for k in ("demographic_parity_difference", "equalized_odds_difference",
                           "equal_opportunity_difference")]
        mf = fm.MetricFrame(metrics={"tpr": fm.true_positive_rate, "fpr": fm.false_positive_rate,
                                     "selection_rate": fm.selection_rate},
                            y_true=y, y_pred=p, sensitive_features=g)
        for grp in f["per_group"]:
            if grp["n"]:
                for k in ("tpr", "fpr", "selection_rate"):
                    pairs.append((grp[k], mf.by_group.loc[grp["group"], k],
                                  "%s %s %s" % (split, grp["group"], k)))
        for ours, theirs, what in pairs:
            checked += 1
            if ours is None:
                undefined += 1
                print("undefined in Lethe (null), Fairlearn %.6g: %s %s" % (theirs, path, what))
            elif abs(ours - theirs) > 1e-12:
                mismatches += 1
                print("MISMATCH %s %s: Lethe %.17g Fairlearn %.17g" % (path, what, ours, theirs))
print("checked %d values: %d equal, %d undefined in Lethe, %d mismatches"
      % (checked, checked - undefined - mismatches, undefined, mismatches))
sys.exit(1 if mismatches else 0)
