#!/usr/bin/env python3
"""Tables and plots of scripts/fair_unlearning.sh: reads OUT/<dataset>/... run directories and
prints Markdown; writes OUT/<dataset>_sweep.svg (the accuracy–fairness curve of the γ-sweep).

Parameters are compared as θ of the binary head (w1 − w0, b1 − b0): from head_f64.safetensors when
a run kept its float64 θ (newton solver, newton, fair-newton, retrain), else from model.safetensors.
"""
import json
import math
import os
import struct
import sys


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        fmt = {"F32": "f", "F64": "d"}.get(t["dtype"])
        if fmt:
            out[name] = list(struct.unpack("<%d%s" % ((b - a) // struct.calcsize(fmt), fmt), data[a:b]))
    return out


def theta(run):
    f64 = os.path.join(run, "head_f64.safetensors")
    if os.path.exists(f64):
        return read_safetensors(f64)["theta"]
    t = read_safetensors(os.path.join(run, "model.safetensors"))
    w, b = t["head.weight"], t["head.bias"]
    f = len(w) // 2
    return [w[f + j] - w[j] for j in range(f)] + [b[1] - b[0]]


def dist(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def metrics(run):
    with open(os.path.join(run, "metrics.json")) as f:
        return json.load(f)


def fair(m, split, key):
    v = m.get("fairness", {}).get("splits", {}).get(split, {}).get(key)
    return float("nan") if v is None else v


def fmt(v, spec=".3f"):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def sweep_svg(points, title):
    """points: [(gamma, acc, eodds, dp)]; test accuracy against the EO/DP differences."""
    w, h, l, r, t, b = 520, 340, 60, 20, 30, 45
    xs = [p[2] for p in points] + [p[3] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = 0.0, max(xs) * 1.1 or 1
    y0, y1 = min(ys) - 1, max(ys) + 1
    px = lambda x: l + (x - x0) / (x1 - x0) * (w - l - r)
    py = lambda y: h - b - (y - y0) / (y1 - y0) * (h - t - b)
    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="11">' % (w, h), '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="18" font-size="13">%s</text>' % (l, title),
         '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (l, h - b, w - r, h - b),
         '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (l, t, l, h - b),
         '<text x="%d" y="%d">fairness difference on test (equalized odds ●, demographic parity ○)</text>'
         % (l, h - 10),
         '<text x="12" y="%d" transform="rotate(-90 12 %d)">test accuracy %%</text>' % (h // 2 + 40, h // 2 + 40)]
    for i in range(5):
        xv, yv = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        s.append('<text x="%.1f" y="%d" text-anchor="middle">%.3f</text>' % (px(xv), h - b + 14, xv))
        s.append('<text x="%d" y="%.1f" text-anchor="end">%.1f</text>' % (l - 4, py(yv) + 4, yv))
    for idx, fill in ((2, "#1f77b4"), (3, "none")):
        pts = " ".join("%.1f,%.1f" % (px(p[idx]), py(p[1])) for p in points)
        s.append('<polyline points="%s" fill="none" stroke="#1f77b4" stroke-dasharray="%s"/>'
                 % (pts, "" if idx == 2 else "4 3"))
        for p in points:
            s.append('<circle cx="%.1f" cy="%.1f" r="4" fill="%s" stroke="#1f77b4"/>'
                     % (px(p[idx]), py(p[1]), fill))
            if idx == 2:
                s.append('<text x="%.1f" y="%.1f">γ=%g</text>' % (px(p[idx]) + 5, py(p[1]) - 5, p[0]))
    s.append("</svg>")
    return "\n".join(s)


def main():
    out, methods, fracs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
    print("### Fair unlearning (scripts/fair_unlearning.sh)\n")
    for ds in ("german", "hmda", "hmda-mlp"):
        root = os.path.join(out, ds)
        if not os.path.isdir(root):
            continue
        fm = metrics(os.path.join(root, "fair"))
        print("**%s** — fair model: test acc %.2f%%, test EOdds diff %s, DP diff %s, Newton ||∇J|| %.1e "
              "in %d iterations\n" % (ds, fm["test_acc"], fmt(fair(fm, "test", "equalized_odds_difference")),
                                       fmt(fair(fm, "test", "demographic_parity_difference")),
                                       fm["convex"]["grad_norm"], fm["convex"]["iterations"]))
        print("| removal | method | test acc | test EOdds diff | Δ vs retrain | retain EOdds diff | "
              "Δ vs retrain | test DP diff | forget acc | ‖θ − θ_retrain‖ | time s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for mode in ("random", "group"):
            for f in fracs:
                d = os.path.join(root, "%s-%s" % (mode, f))
                if not os.path.isdir(os.path.join(d, "retrain")):
                    continue
                ref = metrics(os.path.join(d, "retrain"))
                ref_eo = fair(ref, "test", "equalized_odds_difference")
                ref_reo = fair(ref, "retain", "equalized_odds_difference")
                ref_t = theta(os.path.join(d, "retrain"))
                for m in methods:
                    run = os.path.join(d, m)
                    if not os.path.exists(os.path.join(run, "metrics.json")):
                        continue
                    mm = metrics(run)
                    eo = fair(mm, "test", "equalized_odds_difference")
                    reo = fair(mm, "retain", "equalized_odds_difference")
                    # The retrain row's distance is how far retraining moved θ from the fair
                    # model: the scale the other rows' errors are measured against.
                    dd = dist(theta(os.path.join(root, "fair") if m == "retrain" else run), ref_t)
                    print("| %s %g%% | %s | %.2f | %s | %s | %s | %s | %s | %.2f | %s%s | %.3f |" % (
                        mode, 100 * float(f), m, mm["test_acc"], fmt(eo), fmt(abs(eo - ref_eo)),
                        fmt(reo), fmt(abs(reo - ref_reo)),
                        fmt(fair(mm, "test", "demographic_parity_difference")), mm["forget_acc"],
                        "(shift) " if m == "retrain" else "", fmt(dd, ".2e"), mm["unlearn_s"]))
        print()
        sweep = os.path.join(root, "sweep")
        pts = []
        for name in os.listdir(sweep) if os.path.isdir(sweep) else []:
            m = metrics(os.path.join(sweep, name))
            g = float(name.split("-", 1)[1])
            pts.append((g, m["test_acc"], fair(m, "test", "equalized_odds_difference"),
                        fair(m, "test", "demographic_parity_difference")))
        pts.sort()
        if pts:
            with open(os.path.join(out, ds + "_sweep.svg"), "w") as f:
                f.write(sweep_svg(pts, "%s: eo penalty γ sweep (logreg, float64 Newton)" % ds))
            print("γ-sweep (%s): " % ds + ", ".join(
                "γ=%g: acc %.2f, EOdds %s, DP %s" % (g, a, fmt(e), fmt(p)) for g, a, e, p in pts) + "\n")


def certified(out):
    d = os.path.join(out, "hmda")
    if not os.path.isdir(os.path.join(d, "certified-retrain")):
        return
    ref = metrics(os.path.join(d, "certified-retrain"))
    ref_t = theta(os.path.join(d, "certified-retrain"))
    print("**Sequential certified removal** (HMDA, trained with --perturb, 10% of rows from "
          "afam=yes in 10 requests; sum-form gradient norms):\n")
    print("| method | request | residual ‖∇F‖ | training-objective residual | bound | accumulated β | "
          "budget σε/c | certified | σ needed (βc/ε) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in ("fair-newton", "newton"):
        run = os.path.join(d, "certified-" + m)
        if not os.path.isdir(run):
            continue
        mm = metrics(run)
        rep = mm["method_report"]
        cert = rep["certificate"]
        for r in rep["requests"]:
            if r["request"] in (1, 2, 5, 10):
                c = math.sqrt(2 * math.log(1.5 / cert["delta"]))
                print("| %s | %d | %.3g | %.3g | %.3g | %.3g | %s | %s | %.3g |" % (
                    m, r["request"], r["residual_norm"], r["train_objective_residual_norm"],
                    r["bound"], r["accumulated_bound"], fmt(cert.get("budget"), ".3g"),
                    "yes" if r["accumulated_bound"] <= cert.get("budget", -1) else "no",
                    r["accumulated_bound"] * c / cert["eps"]))
        print("| %s | final | test EOdds %s (retrain %s) | ‖θ − θ_retrain‖ %.2e | | | | | |" % (
            m, fmt(fair(mm, "test", "equalized_odds_difference")),
            fmt(fair(ref, "test", "equalized_odds_difference")), dist(theta(run), ref_t)))
    print()


main()
certified(sys.argv[1])
