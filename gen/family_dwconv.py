"""The "dwconv" family: depthwise k×k NCHW kernels on row tiles.

Depthwise = groups = ci (one input channel per group), co = m·ci (m = 1, or a
depth multiplier). Each output channel is an independent 2-D plane,
vectorised along the width (src/kernels/dwconv-inl.h).

Block vs tile. The weights are OIHW as is ([co][kh][kw]): no block. A *tile*
is what one Highway target holds in registers: T output rows × V vectors of
N lanes (N = min(L, native lanes)) of one channel. Each of the (T−1)·SH + KH
input rows the tile reads is turned into its KW·V shifted vectors once (AVX3
and SSE4 stride 1: two loads + KW−1 in-register lane shifts; otherwise one
unaligned load per kw) and feeds every output row that uses it. Registers:
T·V accumulators + KW·V shifted vectors + V+1 loaded vectors (shift targets)
+ 1 broadcast (0 when V = 1 on AVX3: folded {1toN}); checked against 32
(AVX3) / 16 (AVX2, SSE4).

Spec line:  dwconv k<KH>x<KW> s<SH>[x<SW>] <target>=<T>x<V>v[<L>] ...
Name (describes the AVX3 tile, docs/kernels.md):
    f32_dwconv_k<KH>x<KW>_s<SH>[x<SW>]_h<T>_w<V>v[<L>]
"""

import re

from genlib import (KernelRow, SpecError, SPEC_FIELD, TARGETS, VECTOR_REGISTERS,
                    TARGET_CEILING, HWY_TARGET_CONSTANT, parse_pair,
                    parse_tiles, pair_text)

NAME_GRAMMAR = re.compile(
    r"^f32_dwconv_k(?P<kh>\d+)x(?P<kw>\d+)_s(?P<sh>\d+)(?:x(?P<sw>\d+))?"
    r"_h(?P<t>\d+)_w(?P<v>\d+)v(?P<cap>\d+)?$")

# Measured / modelled rate of interior strips (thread CPU time, docs/kernels.md):
# the model counts FMA, shuffle and load issue slots only; the per-strip
# epilogue, register moves and the input/output streams cost the rest.
# Depthwise: 58 GFLOP/s on dw_3x3_112 (AVX3, 0.50 of peak) against 0.88
# modelled; grouped: 88 on rnx_g32_3x3 (0.75) against 0.96 modelled.
CALIBRATION = {"dwconv": 0.57, "gconv": 0.8}


def shift_in_register(target, sw, lanes):
    """Mirrors rowtile::ShiftInRegister (dwconv-inl.h)."""
    return sw == 1 and lanes >= 4 and (target == "avx3" or (target == "sse4" and lanes == 4))


def row_tile_registers(target, kw, sw, channels, tile):
    """Vector registers of the interior loop: accumulators + inputs + broadcast."""
    lanes = tile.lanes(target)
    inputs = kw * tile.v + (tile.v + 1 if shift_in_register(target, sw, lanes) else 0)
    folded = target == "avx3" and tile.v == 1
    return channels * tile.rs * tile.v + inputs + (0 if folded else 1)


def row_tile_model(target, kh, kw, sh, sw, channels, tile, family):
    """RowTileModel: modelled fraction of peak of an interior strip.

    Per input channel: FMA cycles = C·T·KH·KW·V·N/16 (16 fp32 FMA lanes per
    cycle; narrower vectors still take a 256-bit pipe: N counted as >= 8 on
    AVX2/AVX3). Shuffles (lane shifts or stride-2 de-interleaves), R·(KW−1)·V
    or R·KW·V of them for R = (T−1)·SH + KH input rows, share the two FMA/
    shuffle pipes: half of them is counted against the FMAs. Loads: N/16 cycle
    per vector (one zmm or two ymm per cycle), 1/2 per broadcast. FMA latency
    4: 4 zmm or 8 narrower accumulators.
    """
    n = tile.lanes(target)
    width = max(n, 8) if target in ("avx3", "avx2") else 16
    rows = (tile.rs - 1) * sh + kh
    fma = channels * tile.rs * kh * kw * tile.v * width / 16.0
    if shift_in_register(target, sw, n):
        shuffles, loads = rows * (kw - 1) * tile.v, rows * (tile.v + 1)
    else:
        shuffles = rows * kw * tile.v if (sw == 2 and n > 1) else 0
        loads = rows * kw * tile.v * (sw if n > 1 else 1)
    broadcasts = channels * tile.rs * kh * kw
    shuffle = shuffles * width / 16.0
    load = loads * width / 16.0 + broadcasts / 2.0
    needed = 4 if n >= 16 else 8
    latency = min(1.0, channels * tile.rs * tile.v / float(needed))
    return round(CALIBRATION[family] * TARGET_CEILING[target] * latency * fma /
                 max(fma + shuffle / 2.0, load), 3)


class DwconvRow(KernelRow):
    """One registry row: a depthwise k x k kernel specialisation."""

    family = "dwconv"
    template_header = "kernels/dwconv-inl.h"
    once_header = "kernels/dwconv.h"

    def __init__(self, kh, kw, sh, sw, tiles):
        self.kh, self.kw, self.sh, self.sw = kh, kw, sh, sw
        self.tiles = tiles  # target -> genlib.Tile (rs = output rows T)

    def key(self):
        return (self.kh, self.kw, self.sh, self.sw, tuple(self.tiles[t].text() for t in TARGETS))

    @property
    def name(self):
        t = self.tiles["avx3"]
        return "f32_dwconv_k%dx%d_s%s_h%d_w%dv%s" % (
            self.kh, self.kw, pair_text(self.sh, self.sw), t.rs, t.v,
            "" if t.cap is None else t.cap)

    @classmethod
    def parse(cls, f, where):
        if len(f) != 2 + len(TARGETS):
            raise SpecError("%s: dwconv: expected kernel, stride and %d tiles, got %d fields"
                            % (where, len(TARGETS), len(f)))
        m = SPEC_FIELD["kernel"].match(f[0])
        if not m:
            raise SpecError("%s: bad kernel %r" % (where, f[0]))
        sh, sw = parse_pair(f[1], "s", where)
        row = cls(int(m.group(1)), int(m.group(2)), sh, sw, parse_tiles(f[2:], where))
        row.check(where)
        return row

    @staticmethod
    def parse_name(name):
        """Name -> (kh, kw, sh, sw, avx3 rows, avx3 v, avx3 lane cap or None)."""
        m = NAME_GRAMMAR.match(name)
        if not m:
            return None
        g = {k: (int(v) if v else None) for k, v in m.groupdict().items()}
        return (g["kh"], g["kw"], g["sh"], g["sw"] or g["sh"], g["t"], g["v"], g["cap"])

    def name_fields(self):
        a3 = self.tiles["avx3"]
        return (self.kh, self.kw, self.sh, self.sw, a3.rs, a3.v, a3.cap)

    def check(self, where):
        check_row_tiles(self, where, channels=1)

    def registers(self, target):
        return row_tile_registers(target, self.kw, self.sw, 1, self.tiles[target])

    def efficiency(self, target):
        return row_tile_model(target, self.kh, self.kw, self.sh, self.sw, 1, self.tiles[target],
                              self.family)

    def compile_cost(self):
        """Unrolled FMAs of the tile (T·KH·KW·V, KW·V loads), 3 variants, 4 targets."""
        return sum(self.kh * self.kw * self.tiles[t].rs * self.tiles[t].v for t in TARGETS) + 20

    def spec_line(self):
        return "dwconv k%dx%d s%s %s" % (
            self.kh, self.kw, pair_text(self.sh, self.sw),
            " ".join("%s=%s" % (t, self.tiles[t].text()) for t in TARGETS))

    def describe(self):
        return " ".join("%s:%s regs=%d eff=%.3f" % (t, self.tiles[t].text(), self.registers(t),
                                                     self.efficiency(t)) for t in TARGETS)

    def target_call(self, target):
        t = self.tiles[target]
        return ("dwconv::DwconvTile<%d, %d, %d, %d, %d, %d>(%s, ctx, tile, input, output);"
                % (self.kh, self.kw, self.sh, self.sw, t.rs, t.v, t.tag(target, "rowtile")))

    def once_lines(self):
        return once_tile_lines(self) + [
            "double Estimate_%s(const Conv2dParams& p, int64_t target) {" % self.name,
            "  return dwconv::Estimate(p, target, kTiles_%s, %d);" % (self.name, len(TARGETS)),
            "}"]

    def info_fields(self):
        a3 = self.tiles["avx3"]
        args = (self.kh, self.kw, self.sh, self.sw)
        return ["%d, %d, %d, %d, 1, 1, /*r=*/1, /*v=*/%d, /*priority=*/20," % (args + (a3.v,)),
                "&dwconv::Applies<%d, %d, %d, %d>," % args,
                "&dwconv::PackedWeightFloats<%d, %d>," % (self.kh, self.kw),
                "&dwconv::PackWeights<%d, %d>," % (self.kh, self.kw),
                "&rowtile::NoScratch, &Estimate_%s, &Resolve_%s," % (self.name, self.name)]

    @staticmethod
    def bad_spec_examples():
        return ["dwconv k3x3 s3 avx3=8x1v avx2=8x1v sse4=4x1v scalar=4x1v",
                "dwconv k3x3 s1 avx3=8x1v avx2=16x1v sse4=4x1v scalar=4x1v",
                "dwconv k7x7 s1 avx3=8x1v avx2=8x1v sse4=4x1v scalar=4x1v",
                "dwconv k3x3 s1 avx3=8x1v avx2=8x1v sse4=4x1v"]

    @staticmethod
    def name_examples():
        return [("f32_dwconv_k3x3_s1_w1v", None), ("f32_dwconv_k3_s1_h8_w1v", None),
                ("f32_dwconv_k5x3_s1x2_h4_w2v8", (5, 3, 1, 2, 4, 2, 8))]


def check_row_tiles(row, where, channels):
    """Shared by dwconv and gconv rows: sizes, strides, shift range, registers."""
    if min(row.kh, row.kw, row.sh, row.sw) < 1:
        raise SpecError("%s: sizes must be >= 1" % where)
    if row.sw not in (1, 2) or row.sh not in (1, 2):
        raise SpecError("%s: row tiles support strides 1 and 2" % where)
    if row.kw > 5:
        raise SpecError("%s: row tiles shift by at most 4 lanes (kw <= 5)" % where)
    for t in TARGETS:
        tile = row.tiles[t]
        if tile.rs < 1 or tile.v < 1:
            raise SpecError("%s: %s tile %s: rows and vectors must be >= 1" % (where, t, tile.text()))
        if (tile.rs - 1) * row.sh + row.kh > 32:
            raise SpecError("%s: %s tile %s reads more than 32 input rows" % (where, t, tile.text()))
        limit = VECTOR_REGISTERS[t]
        if limit is not None and row.registers(t) > limit:
            raise SpecError("%s: %s tile %s needs %d vector registers > %d" %
                            (where, t, tile.text(), row.registers(t), limit))


def once_tile_lines(row):
    tiles = ",\n".join(
        "    {%s, %d, %d, %d, %.3f}" % (HWY_TARGET_CONSTANT[t], row.tiles[t].rs, row.tiles[t].v,
                                       row.tiles[t].lanes(t), row.efficiency(t))
        for t in TARGETS)
    return ["constexpr rowtile::TargetTile kTiles_%s[] = {\n%s};" % (row.name, tiles)]

