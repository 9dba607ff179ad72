#!/usr/bin/env python3
"""Turns `convgen bench --json` records into the markdown tables of
docs/performance.md, and checks the issues' ratio bars.

  python3 tools/perf_report.py RESULTS.json... [--targets TARGETS.json...]
                               [--peaks PEAK.json...]
                               [--update docs/performance.md]
  python3 tools/perf_report.py --kxk-suite bench/suite.txt
  python3 tools/perf_report.py --self-test

Several files may hold the same layers and thread count: they are repeated
runs (tools/perf_tables.sh runs the suite RUNS times, 1 thread then 2
threads each time). Every figure is then the median over the runs, and every
ratio the median of the per-run ratios (convgen and the peer timed in the
same run, their repetitions in turns: the peer record's ours_gflops), so
that a minute in which the shared host slows one run moves neither. The
k-th file with a given thread count belongs to run k: scaling (2 threads ÷
1 thread) pairs the two halves of one run. A file may hold both counts
(`convgen bench --threads 1,2`, the two plans timed in turns).

--targets: files of `convgen bench --target AVX3,AVX2` runs (one file a run):
per layer the median over the runs of AVX2 GFLOP/s ÷ AVX3 GFLOP/s (both
timed in the same run, their repetitions in turns), against issue 4's bar
(AVX2 within 10% of AVX3).
--peaks: files of `convgen peak --json` (one a run, in the order of
--targets): adds each target's share of its own FMA peak, AVX2 ÷ AVX3, for
CPUs whose AVX2 peak is not AVX3's (see target_table).
--kxk-suite SUITE: prints the issue-4 layers' lines of SUITE (ISSUE4_LAYERS,
the one list of them), the layers of that comparison.

Without --update the tables go to stdout; with it, the text between the
markers `<!-- perf-tables:begin -->` and `<!-- perf-tables:end -->` is
replaced. Standard library only.
"""

import argparse
import json
import math
import os
import statistics
import sys

# Bars from the issues: layer -> {peer: minimum ratio convgen/peer}.
# "fastest" = the fastest of the peers on that layer.
BARS = {
    "d2l_5x5": {"onednn_nchw": 1.15, "onednn": 0.85},
    "c100_5x5": {"onednn_nchw": 1.15, "onednn": 0.95},
    "rn_stem": {"onednn_nchw": 1.15, "onednn": 0.80},
    "rn_3x3_56": {"onednn_nchw": 1.15, "onednn": 0.85},
    "rn_3x3_28": {"onednn_nchw": 1.10, "onednn": 0.80},
    "rn_3x3_14": {"onednn_nchw": 1.05, "onednn": 0.80},
    "rn_3x3_7": {"onednn_nchw": 1.00, "onednn": 0.75},
    "rn_3x3_s2": {"onednn_nchw": 1.10, "onednn": 0.80},
    "rn_1x1_56": {"fastest": 0.90},
    "rn_1x1_up": {"fastest": 0.90},
    "mb_pw_112": {"fastest": 0.90},
    "mb_pw_14": {"fastest": 0.90},
    "shuffle_g3_1x1": {"fastest": 0.85},
    "shuffle_g8_1x1": {"fastest": 0.85},
    "dw_3x3_112": {"onednn": 1.0, "xnnpack": 2.0},
    "rnx_g32_3x3": {"onednn": 1.3},
}
ISSUE4_LAYERS = ["d2l_5x5", "c100_5x5", "rn_stem", "rn_3x3_56", "rn_3x3_28", "rn_3x3_14",
                 "rn_3x3_7", "rn_3x3_s2"]
# Issue 7: minimum scaling, 2 threads ÷ 1 thread.
SCALING_BARS = {"d2l_5x5": 1.85, "c100_5x5": 1.85, "rn_3x3_56": 1.85, "rn_1x1_56": 1.85,
                "mb_pw_112": 1.85, "dw_3x3_112": 1.85, "rn_3x3_7": 1.5, "mb_pw_14": 1.5}
PEERS = ["onednn", "onednn_nchw", "xnnpack"]
PEER_TITLES = {"onednn": "oneDNN", "onednn_nchw": "oneDNN NCHW", "xnnpack": "XNNPACK"}
# Issue 4: the AVX2 target within 10% of AVX3.
TARGET_BAR = 0.90
BEGIN, END = "<!-- perf-tables:begin -->", "<!-- perf-tables:end -->"


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def median(values):
    return statistics.median(values) if values else None


class Runs:
    """The records of every run, by (layer, threads): ours[key][run] is our
    record, peers[key][run][peer] the peer's; order = first appearance."""

    def __init__(self, files):
        self.ours, self.peers, self.order = {}, {}, []
        runs_of = {}  # threads -> files seen so far with that thread count
        for records in files:
            threads_here = sorted({r["threads"] for r in records})
            run = {t: runs_of.get(t, 0) for t in threads_here}
            for t in threads_here:
                runs_of[t] = run[t] + 1
            for r in records:
                key = (r["layer"], r["threads"])
                k = run[r["threads"]]
                if "peer" in r:
                    self.peers.setdefault(key, {}).setdefault(k, {})[r["peer"]] = r
                else:
                    self.ours.setdefault(key, {})[k] = r
                    if key not in self.order:
                        self.order.append(key)
        self.runs = max(runs_of.values()) if runs_of else 0

    def ratios(self, key, run):
        """Peer -> ours ÷ peer in one run: ours timed in turns with that peer
        (the peer record's ours_gflops) where bench recorded it, else the
        layer's own figure."""
        r = self.ours[key][run]
        p = self.peers.get(key, {}).get(run, {})

        def ours(peer):
            paired = peer.get("ours_gflops") or 0
            return paired if paired > 0 and peer.get("ours_target") == r.get("target") else r["gflops"]
        return {n: ours(p[n]) / p[n]["gflops"] for n in PEERS
                if n in p and p[n].get("gflops", 0) > 0}

    def median_ratios(self, key):
        per_peer = {}
        for run in self.ours[key]:
            for n, x in self.ratios(key, run).items():
                per_peer.setdefault(n, []).append(x)
        return {n: median(xs) for n, xs in per_peer.items()}

    def median_gflops(self, key):
        return median([r["gflops"] for r in self.ours[key].values()])

    def median_peer_gflops(self, key, peer):
        xs = [p[peer]["gflops"] for p in self.peers.get(key, {}).values() if peer in p]
        return median(xs)


def verdicts(layer, ratio):
    out = []
    for peer, bar in BARS.get(layer, {}).items():
        got = (min(ratio.values()) if ratio else None) if peer == "fastest" else ratio.get(peer)
        if got is None:
            out.append("%s ≥%.2f: n/a" % (peer, bar))
        else:
            out.append("%s ≥%.2f: %s" % (peer, bar, "ok" if got >= bar else "**short**"))
    return "; ".join(out) or "—"


def cpu_line(files):
    """The CPU(s) the records were measured on (bench JSON's "cpu", since
    session 13; older files lack it)."""
    cpus = sorted({r.get("cpu", "not recorded") for records in files for r in records})
    return "Measured on: %s.\n\n" % "; ".join(cpus) if cpus else ""


def main_table(runs):
    lines = ["| layer | threads | kernel | target | ms | GFLOP/s | runs (GFLOP/s) | % peak "
             "| × oneDNN blocked | × oneDNN NCHW | × XNNPACK | bars |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    geo = {}  # threads -> median ratios to oneDNN blocked on the issue-4 layers
    for key in runs.order:
        layer, threads = key
        recs = list(runs.ours[key].values())
        ratio = runs.median_ratios(key)
        cells = []
        for n in PEERS:
            cells.append("%.2f (%.0f)" % (ratio[n], runs.median_peer_gflops(key, n))
                         if n in ratio else "n/a")
        if layer in ISSUE4_LAYERS and "onednn" in ratio:
            geo.setdefault(threads, []).append(ratio["onednn"])
        gf = [r["gflops"] for r in recs]
        spread = "%.0f–%.0f" % (min(gf), max(gf)) if len(gf) > 1 else "—"
        lines.append("| %s | %d | `%s` | %s | %.3f | %.1f | %s | %.1f%% | %s | %s | %s | %s |" % (
            layer, threads, recs[0]["kernel"], recs[0]["target"],
            median([r["time_ms"] for r in recs]), median(gf), spread,
            median([r["pct_peak"] for r in recs]), cells[0], cells[1], cells[2],
            verdicts(layer, ratio)))
    out = "\n".join(lines) + "\n\n"
    if runs.runs > 1:
        out += ("Medians over %d runs: GFLOP/s, ms and %% peak are the median run's; a ratio is "
                "the median over the runs of convgen's GFLOP/s ÷ the peer's on the same layer in "
                "the same run, the two timed in turns (the peer's median GFLOP/s in brackets); "
                "\"runs\" is the range of convgen's GFLOP/s over the runs.\n" % runs.runs)
    else:
        out += ("Ratios are convgen GFLOP/s ÷ the peer's on the same layer in the same run, the "
                "two timed in turns; the peer's own GFLOP/s in brackets.\n")
    for threads, ratios in sorted(geo.items()):
        if len(ratios) == len(ISSUE4_LAYERS):
            g = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
            out += ("Geometric mean of × oneDNN blocked over the eight issue-4 layers, %d thread(s): "
                    "%.2f (bar ≥ 0.85).\n" % (threads, g))
    return out


def scaling_table(runs):
    """Issue 7: 2 threads ÷ 1 thread per layer (per run, then the median), and
    whether convgen keeps its 1-thread ratio to each peer with 2 threads."""
    layers = [layer for layer, t in runs.order if t == 1 and (layer, 2) in runs.ours]
    if not layers:
        return ""
    lines = ["| layer | 1 thread GFLOP/s | 2 threads GFLOP/s | scaling (per run) | bar "
             "| × oneDNN 1 → 2 | × oneDNN NCHW 1 → 2 | × XNNPACK 1 → 2 |",
             "|---|---|---|---|---|---|---|---|"]
    for layer in layers:
        one, two = (layer, 1), (layer, 2)
        paired = sorted(set(runs.ours[one]) & set(runs.ours[two]))
        per_run = [runs.ours[two][k]["gflops"] / runs.ours[one][k]["gflops"] for k in paired]
        s = median(per_run)
        bar = SCALING_BARS.get(layer)
        bar_cell = "—" if bar is None else ("≥%.2f: %s" % (bar, "ok" if s >= bar else "**short**"))
        r1, r2 = runs.median_ratios(one), runs.median_ratios(two)
        cells = []
        for n in PEERS:
            if n in r1 and n in r2:
                cells.append("%.2f → %.2f%s" % (r1[n], r2[n], "" if r2[n] >= r1[n] else " (lower)"))
            else:
                cells.append("n/a")
        lines.append("| %s | %.1f | %.1f | %.2f (%s) | %s | %s | %s | %s |" % (
            layer, runs.median_gflops(one), runs.median_gflops(two), s,
            " ".join("%.2f" % x for x in per_run), bar_cell, cells[0], cells[1], cells[2]))
    return ("\nScaling (issue 7): 2 threads ÷ 1 thread, per run and its median; \"1 → 2\" is the "
            "median ratio to the peer with 1 and with 2 threads (the bar: not lower with 2).\n\n"
            + "\n".join(lines) + "\n")


def peak_ratio(peak):
    """AVX2 ÷ AVX3 FMA peak of one `convgen peak --json` record, or None."""
    by = {t["target"]: t["gflops"] for t in peak.get("targets", []) if t.get("gflops")}
    if "AVX3" in by and "AVX2" in by and by["AVX3"] > 0:
        return by["AVX2"] / by["AVX3"]
    return None


def target_table(files, peaks=()):
    """Issue 4: AVX2 ÷ AVX3 per layer, per run and the median over the runs.

    With `peaks` (one `convgen peak --json` record a run, same order), also
    each target's share of its own FMA peak compared: (AVX2 ÷ AVX3) ÷ (AVX2
    peak ÷ AVX3 peak). The bar (TARGET_BAR) assumes the two targets' peaks
    equal, as on Zen 4 (a zmm FMA double-pumped over two 256-bit pipes); on
    a CPU whose AVX2 peak is half its AVX3 peak (Zen 5, Intel with two
    512-bit FMA ports) it cannot hold, and the efficiency column is the
    figure left to compare."""
    per_layer, order = {}, []
    ratios_of_peak = [peak_ratio(p) for p in peaks]
    for run, records in enumerate(files):
        by = {}
        for r in records:
            if "peer" not in r and r["threads"] == 1:
                by.setdefault(r["layer"], {})[r["target"]] = r["gflops"]
        pr = ratios_of_peak[run] if run < len(ratios_of_peak) else None
        for layer, g in by.items():
            if "AVX3" in g and "AVX2" in g:
                if layer not in per_layer:
                    order.append(layer)
                per_layer.setdefault(layer, []).append((g["AVX3"], g["AVX2"], pr))
    if not order:
        return ""
    with_peaks = any(pr is not None for pairs in per_layer.values() for _, _, pr in pairs)
    head = "| layer | AVX3 GFLOP/s | AVX2 GFLOP/s | AVX2 ÷ AVX3 (per run) | bar |"
    rule = "|---|---|---|---|---|"
    if with_peaks:
        head += " of own peak: AVX2 ÷ AVX3 (per run) |"
        rule += "---|"
    lines = [head, rule]
    for layer in order:
        pairs = per_layer[layer]
        ratios = [avx2 / avx3 for avx3, avx2, _ in pairs]
        r = median(ratios)
        line = "| %s | %.1f | %.1f | %.2f (%s) | ≥%.2f: %s |" % (
            layer, median([a for a, _, _ in pairs]), median([b for _, b, _ in pairs]), r,
            " ".join("%.2f" % x for x in ratios), TARGET_BAR,
            "ok" if r >= TARGET_BAR else "**short**")
        if with_peaks:
            eff = [avx2 / avx3 / pr for avx3, avx2, pr in pairs if pr]
            line += " %.2f (%s) |" % (median(eff), " ".join("%.2f" % x for x in eff)) \
                if eff else " — |"
        lines.append(line)
    note = ""
    if with_peaks:
        prs = [pr for pr in ratios_of_peak if pr]
        note = ("AVX2 ÷ AVX3 FMA peak on this CPU (`convgen peak`, one core, per run): %s. "
                "\"Of own peak\" divides each run's ratio by it: each target's share of its "
                "own peak compared.%s\n\n" % (
                    " ".join("%.2f" % x for x in prs),
                    " The bar assumes equal peaks (Zen 4); with the AVX2 peak below %.2f of "
                    "AVX3's it cannot hold." % TARGET_BAR if median(prs) < TARGET_BAR else ""))
    return ("\nTargets (issue 4): `convgen bench --target AVX3,AVX2`, 1 thread, %d run(s); the "
            "ratio is the median over the runs of AVX2 ÷ AVX3 in the same run.\n\n"
            % len(files) + note + "\n".join(lines) + "\n")


def self_test():
    """Checks the aggregation on made-up runs (ctest: perf_report_selftest)."""
    def rec(layer, threads, gflops, peer=None):
        r = {"layer": layer, "threads": threads, "gflops": gflops, "kernel": "k", "target": "AVX3",
             "time_ms": 1.0, "pct_peak": 50.0}
        if peer:
            r["peer"] = peer
        return r
    # Three runs of one layer; run 2's 1-thread half was slowed by the host:
    # its ratio and its scaling are the outliers the medians must ignore.
    ours1, ours2 = [100.0, 60.0, 102.0], [200.0, 198.0, 190.0]
    peer1, peer2 = [110.0, 66.0, 100.0], [210.0, 200.0, 205.0]
    files = []
    for k in range(3):
        files.append([rec("rn_3x3_7", 1, ours1[k]), rec("rn_3x3_7", 1, peer1[k], "onednn")])
        files.append([rec("rn_3x3_7", 2, ours2[k]), rec("rn_3x3_7", 2, peer2[k], "onednn")])
    runs = Runs(files)
    assert runs.runs == 3, runs.runs
    r1, r2 = runs.median_ratios(("rn_3x3_7", 1)), runs.median_ratios(("rn_3x3_7", 2))
    assert abs(r1["onednn"] - 100.0 / 110.0) < 1e-12, r1   # 0.909, 0.909, 1.02
    assert abs(r2["onednn"] - 200.0 / 210.0) < 1e-12, r2   # 0.952, 0.99, 0.927
    assert runs.median_gflops(("rn_3x3_7", 1)) == 100.0
    table = scaling_table(runs)
    # Per-run scaling 2.00, 3.30, 1.86: median 2.00, the bar (1.5) met; the
    # ratio to oneDNN rises 0.91 -> 0.95 with 2 threads.
    row = [line for line in table.splitlines() if line.startswith("| rn_3x3_7 |")][0]
    assert "| 2.00 (2.00 3.30 1.86) | ≥1.50: ok | 0.91 → 0.95 |" in row, row
    # `bench --threads 1,2` writes both counts of a run to one file: the
    # same pairing as two files a run.
    combined = Runs([files[2 * k] + files[2 * k + 1] for k in range(3)])
    assert combined.runs == 3 and scaling_table(combined) == table, scaling_table(combined)
    main = main_table(runs)
    assert "| 60–102 |" in main and "Medians over 3 runs" in main, main
    # A peer record holding ours timed in turns with it: the ratio uses that
    # figure (90 / 100), not the layer's own (100).
    paired = dict(rec("rn_3x3_7", 1, 100.0, "onednn"), ours_target="AVX3", ours_gflops=90.0)
    r = Runs([[rec("rn_3x3_7", 1, 100.0), paired]]).median_ratios(("rn_3x3_7", 1))
    assert abs(r["onednn"] - 0.9) < 1e-12, r
    # One run: the old single-run wording, no range.
    single = main_table(Runs(files[:2]))
    assert "| — |" in single and "in the same run, the two timed in turns; the peer's own" in single, single
    # A layer short of its scaling bar is flagged.
    slow = [[rec("d2l_5x5", 1, 100.0)], [rec("d2l_5x5", 2, 150.0)]]
    assert "≥1.85: **short**" in scaling_table(Runs(slow))
    # Target comparison: the median of the per-run ratios (0.95, 0.60, 0.92).
    tgt = [[rec("rn_3x3_7", 1, 100.0), dict(rec("rn_3x3_7", 1, 95.0), target="AVX2")],
           [rec("rn_3x3_7", 1, 100.0), dict(rec("rn_3x3_7", 1, 60.0), target="AVX2")],
           [rec("rn_3x3_7", 1, 100.0), dict(rec("rn_3x3_7", 1, 92.0), target="AVX2")]]
    row = [line for line in target_table(tgt).splitlines() if line.startswith("| rn_3x3_7 |")][0]
    assert "| 0.92 (0.95 0.60 0.92) | ≥0.90: ok |" in row, row
    assert "**short**" in target_table(tgt[1:2])
    # With each run's peak (AVX2 half of AVX3's): the share of own peak,
    # 0.95 / 0.5, 0.60 / 0.5, 0.92 / 0.5 -> median 1.84, and the note.
    half = {"targets": [{"target": "AVX3", "gflops": 200.0}, {"target": "AVX2", "gflops": 100.0}]}
    text = target_table(tgt, [half, half, half])
    row = [line for line in text.splitlines() if line.startswith("| rn_3x3_7 |")][0]
    assert row.endswith("| ≥0.90: ok | 1.84 (1.90 1.20 1.84) |"), row
    assert "per run): 0.50 0.50 0.50" in text and "cannot hold" in text, text
    assert "of own peak" not in target_table(tgt)
    # The k x k suite comes from the public suite: all eight issue-4 layers, in order.
    suite = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "suite.txt")
    names = [line.rstrip().rsplit('n"', 1)[1][:-1] for line in kxk_suite(suite)]
    assert names == ISSUE4_LAYERS, names
    # The CPU line names every CPU once; records without one say so.
    assert cpu_line([[dict(rec("a", 1, 1.0), cpu="X")], [dict(rec("b", 1, 1.0), cpu="X")]]) == \
        "Measured on: X.\n\n"
    assert "not recorded" in cpu_line(files)
    print("perf_report.py self-test: ok")
    return 0


def kxk_suite(path):
    """The lines of a suite file that describe the issue-4 layers, in its order."""
    with open(path, encoding="utf-8") as f:
        return [line for line in f
                if any(line.rstrip().endswith('n"%s"' % name) for name in ISSUE4_LAYERS)]


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if len(argv) == 2 and argv[0] == "--kxk-suite":
        lines = kxk_suite(argv[1])
        if len(lines) != len(ISSUE4_LAYERS):
            print("perf_report.py: %s holds %d of the %d issue-4 layers"
                  % (argv[1], len(lines), len(ISSUE4_LAYERS)), file=sys.stderr)
            return 2
        sys.stdout.write("".join(lines))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", nargs="+")
    ap.add_argument("--targets", nargs="+", default=[])
    ap.add_argument("--peaks", nargs="+", default=[])
    ap.add_argument("--update")
    args = ap.parse_args(argv)
    runs = Runs([load(path) for path in args.json])
    target_files = [load(p) for p in args.targets]
    text = (cpu_line([load(path) for path in args.json] + target_files) + main_table(runs)
            + scaling_table(runs) + target_table(target_files, [load(p) for p in args.peaks]))
    if not args.update:
        sys.stdout.write(text)
        return 0
    with open(args.update, encoding="utf-8") as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        print("perf_report.py: %s lacks the %s / %s markers" % (args.update, BEGIN, END), file=sys.stderr)
        return 2
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(args.update, "w", encoding="utf-8") as f:
        f.write(head + BEGIN + "\n" + text + END + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
