#!/usr/bin/env python3
"""Draw a `convgen explore` CSV (columns: tools/lib/explore.h).

    tools/plot_explore.py EXPLORE.csv OUT.png|OUT.svg

Kernel sweep (sweep=kernels): one panel per Highway target, GFLOP/s against
the strip width Δ (outputs per strip = V x lanes, KernelInfo v and the
target's lanes), one line per family and tile R of the strip kernels (axis w:
along the output row, solid; axis hw: along the flattened pixels, dashed); kernels
without a row strip (smallmap, vectorised over channels; the reference) are
horizontal dotted lines at their GFLOP/s, so every measured kernel is on the
figure. The plan's own choice is ringed.

Groups sweep (sweep=groups): time x b / time(smallest b) against b, one line
per target, with the ideal y = 1 (the b x FLOP saving of block-diagonal
channels fully kept; above 1 = the per-group overhead eats part of it); a
second panel shows GFLOP/s against b.

Needs matplotlib (Debian: apt-get install -y python3-matplotlib); standard
library otherwise.
"""
import csv
import sys
from collections import defaultdict

try:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit("plot_explore.py: matplotlib is missing: install python3-matplotlib "
             "(apt-get install -y python3-matplotlib)")


def read_rows(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("gflops")]  # skipped rows have none
    if not rows:
        sys.exit(f"plot_explore.py: {path}: no measured rows")
    return rows


def short_kernel(name):
    return name.replace("f32_conv2d_", "").replace("f32_", "")


MARKERS = {"direct": "o", "generic": "D", "im2col": "s", "conv1x1": "^", "gconv1x1": "v",
           "dwconv": "P", "gconv": "X"}


def plot_kernels(rows, out):
    targets = list(dict.fromkeys(r["target"] for r in rows))  # CSV order: best first
    cols = 2 if len(targets) > 1 else 1
    nrows = (len(targets) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(6.4 * cols, 4.6 * nrows), squeeze=False)
    layer = rows[0]["layer"]
    for i, target in enumerate(targets):
        ax = axes[i // cols][i % cols]
        mine = [r for r in rows if r["target"] == target]
        # One line per (family, R): the same register-tile height at
        # different strip widths; markers say the family.
        lines = defaultdict(list)
        flat = []
        for r in mine:
            if r["axis"] in ("w", "hw") and r["delta"]:
                lines[(r["family"], r["axis"], int(r["r"]))].append(
                    (int(r["delta"]), float(r["gflops"]), r))
            else:
                flat.append(r)
        deltas = set()
        labels_at = defaultdict(int)  # stagger the names of points sharing a Δ
        for (family, axis, tile_r), points in sorted(lines.items()):
            points.sort(key=lambda p: p[0])
            xs = [p[0] for p in points]
            deltas.update(xs)
            label = f"{family} R={tile_r}" + (" (Δ over oh·ow)" if axis == "hw" else "")
            ax.plot(xs, [p[1] for p in points], "-" if axis == "w" else "--",
                    marker=MARKERS.get(family, "o"), markersize=7, label=label)
            for x, y, r in points:
                ax.annotate(short_kernel(r["kernel"]), (x, y), textcoords="offset points",
                            xytext=(6, -3 - 9 * labels_at[x]), fontsize=7)
                labels_at[x] += 1
                if r["plan_choice"] == "1":
                    ax.plot([x], [y], "o", markersize=15, markerfacecolor="none",
                            markeredgecolor="black")
        for r in flat:
            y = float(r["gflops"])
            ax.axhline(y, linestyle=":", linewidth=1.2, color="gray")
            mark = " (plan's choice)" if r["plan_choice"] == "1" else ""
            ax.annotate(short_kernel(r["kernel"]) + mark, (0.02, y),
                        xycoords=("axes fraction", "data"), textcoords="offset points",
                        xytext=(0, 2), fontsize=7, color="dimgray")
        lanes = mine[0]["lanes"]
        ax.set_title(f"{target} ({lanes} lanes)")
        ax.set_xlabel("strip width Δ (outputs) = V × lanes")
        ax.set_ylabel("GFLOP/s")
        if deltas:
            ax.set_xscale("log", base=2)
            ticks = sorted(deltas)
            ax.set_xticks(ticks)
            ax.set_xticklabels([str(t) for t in ticks])
            ax.set_xlim(min(ticks) / 1.6, max(ticks) * 2.2)
        top = max(float(r["gflops"]) for r in mine)
        ax.set_ylim(0, top * 1.15)
        ax.grid(True, alpha=0.3)
        if lines:
            ax.legend(fontsize=7.5, loc="lower right")
    for j in range(len(targets), nrows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle(f"convgen explore {layer} ({rows[0]['desc']}), {rows[0]['threads']} thread(s): "
                 "GFLOP/s vs Δ, one line per family and R\n"
                 "ringed: the plan's own choice; dotted: kernels without a row strip "
                 "(smallmap: vectorised over channels; reference)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_groups(rows, out):
    by_target = defaultdict(list)
    for r in rows:
        by_target[r["target"]].append(r)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    all_b = sorted({int(r["groups"]) for r in rows})
    for target, mine in by_target.items():
        mine.sort(key=lambda r: int(r["groups"]))
        b0, t0 = int(mine[0]["groups"]), float(mine[0]["time_ms"])
        bs = [int(r["groups"]) for r in mine]
        ratio = [float(r["time_ms"]) * int(r["groups"]) / (t0 * b0) for r in mine]
        ax.plot(bs, ratio, "o-", label=target)
        ax2.plot(bs, [float(r["gflops"]) for r in mine], "o-", label=target)
        if target == next(iter(by_target)):
            # The best target's kernel, named where the plan's choice changes.
            previous = None
            for b, y, r in zip(bs, ratio, mine):
                if r["kernel"] != previous:
                    ax.annotate(short_kernel(r["kernel"]), (b, y), textcoords="offset points",
                                xytext=(0, 10), fontsize=7, rotation=25, color="tab:blue")
                previous = r["kernel"]
    ax.axhline(1.0, linestyle="--", color="black", linewidth=1,
               label="ideal: b× fewer FLOPs, b× faster")
    for a in (ax, ax2):
        a.set_xscale("log", base=2)
        a.set_xticks(all_b)
        a.set_xticklabels([str(b) for b in all_b])
        a.set_xlabel("groups b")
        a.grid(True, alpha=0.3)
        a.legend(fontsize=8)
    ax.set_ylabel("time × b / time(b=%d)" % all_b[0])
    ax.set_ylim(bottom=0)
    ax2.set_ylabel("GFLOP/s (nominal FLOPs of the grouped layer)")
    ax2.set_ylim(bottom=0)
    fig.suptitle(f"convgen explore --groups: {rows[0]['layer']} re-grouped (channels unchanged), "
                 f"the plan's choice per b, {rows[0]['threads']} thread(s); "
                 f"names: {next(iter(by_target))} kernel where it changes", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv):
    if len(argv) != 3 or not argv[2].endswith((".png", ".svg")):
        sys.exit("usage: plot_explore.py EXPLORE.csv OUT.png|OUT.svg")
    rows = read_rows(argv[1])
    if rows[0]["sweep"] == "groups":
        plot_groups(rows, argv[2])
    else:
        plot_kernels(rows, argv[2])


if __name__ == "__main__":
    main(sys.argv)
