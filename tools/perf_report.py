#!/usr/bin/env python3
"""Turns `convgen bench --json` records into the markdown tables of
docs/performance.md, and checks the issues' ratio bars.

  python3 tools/perf_report.py RESULTS.json [--update docs/performance.md]

Without --update the tables go to stdout; with it, the text between the
markers `<!-- perf-tables:begin -->` and `<!-- perf-tables:end -->` is
replaced. Standard library only.
"""

import argparse
import json
import math
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
PEERS = ["onednn", "onednn_nchw", "xnnpack"]
BEGIN, END = "<!-- perf-tables:begin -->", "<!-- perf-tables:end -->"


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def tables(records):
    ours, peers, order = {}, {}, []
    for r in records:
        key = (r["layer"], r["threads"])
        if "peer" in r:
            peers.setdefault(key, {})[r["peer"]] = r
        else:
            ours.setdefault(key, []).append(r)
            if key not in order:
                order.append(key)
    lines = ["| layer | threads | kernel | target | ms | GFLOP/s | % peak | × oneDNN blocked "
             "| × oneDNN NCHW | × XNNPACK | bars |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    geo = {}  # threads -> ratios to oneDNN blocked on the issue-4 layers
    for key in order:
        layer, threads = key
        for r in ours[key]:
            p = peers.get(key, {})
            ratio = {n: r["gflops"] / p[n]["gflops"] for n in PEERS if n in p and p[n]["gflops"] > 0}
            cells = []
            for n in PEERS:
                cells.append("%.2f (%.0f)" % (ratio[n], p[n]["gflops"]) if n in ratio else "n/a")
            verdict = []
            for peer, bar in BARS.get(layer, {}).items():
                if peer == "fastest":
                    got = min(ratio.values()) if ratio else None
                else:
                    got = ratio.get(peer)
                if got is None:
                    verdict.append("%s ≥%.2f: n/a" % (peer, bar))
                else:
                    verdict.append("%s ≥%.2f: %s" % (peer, bar, "ok" if got >= bar else "**short**"))
            if layer in ISSUE4_LAYERS and "onednn" in ratio:
                geo.setdefault(threads, []).append(ratio["onednn"])
            lines.append("| %s | %d | `%s` | %s | %.3f | %.1f | %.1f%% | %s | %s | %s | %s |" % (
                layer, threads, r["kernel"], r["target"], r["time_ms"], r["gflops"], r["pct_peak"],
                cells[0], cells[1], cells[2], "; ".join(verdict) or "—"))
    out = "\n".join(lines) + "\n"
    out += "\nRatios are convgen GFLOP/s ÷ the peer's on the same layer in the same run; the peer's own GFLOP/s in brackets.\n"
    for threads, ratios in sorted(geo.items()):
        if len(ratios) == len(ISSUE4_LAYERS):
            g = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
            out += ("Geometric mean of × oneDNN blocked over the eight issue-4 layers, %d thread(s): "
                    "%.2f (bar ≥ 0.85).\n" % (threads, g))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", nargs="+")
    ap.add_argument("--update")
    args = ap.parse_args(argv)
    records = []
    for path in args.json:
        records += load(path)
    text = tables(records)
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
