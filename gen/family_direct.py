"""The "direct" family: k×k NCHW kernels with Δ-wide register-blocked strips.

Block vs tile. A *block* is what the weights are packed for: R output
channels ([co/R][ci][kh][kw][R], src/kernels/direct.h), fixed per registry row
because the plan packs once before it knows the target. A *tile* is what one
Highway target holds in registers: RS output channels (RS divides R; the block
is run as R/RS passes per strip) × V vectors of N lanes, N = min(L, native
lanes: 16 AVX3, 8 AVX2, 4 SSE4, 1 SCALAR). A strip is Δ = V·N adjacent outputs
of one output row. Registers needed: RS·V accumulators + V inputs + 1
broadcast (0 on AVX3 when V = 1: the broadcast folds into the FMA) + 1 for the
stride-2 de-interleave; checked against 32 (AVX3) / 16 (AVX2, SSE4).

Spec line:  direct k<KH>x<KW> s<SH>[x<SW>] d<DH>[x<DW>] r<R> <target>=<RS>x<V>v[<L>] ...
Name (describes the AVX3 tile, docs/kernels.md):
    f32_conv2d_k<KH>x<KW>_s<SH>[x<SW>][_d<DH>[x<DW>]]_r<R>_w<V>v[<L>]
"""

import re

from genlib import (KernelRow, SpecError, SPEC_FIELD, TARGETS, VECTOR_REGISTERS,
                    TARGET_CEILING, HWY_TARGET_CONSTANT, parse_pair, parse_tiles, pair_text)

NAME_GRAMMAR = re.compile(
    r"^f32_conv2d_k(?P<kh>\d+)x(?P<kw>\d+)_s(?P<sh>\d+)(?:x(?P<sw>\d+))?"
    r"(?:_d(?P<dh>\d+)(?:x(?P<dw>\d+))?)?_r(?P<r>\d+)_w(?P<v>\d+)v(?P<cap>\d+)?$")


# Measured fraction of peak of each strip kind, per (target, RS, V, lane cap,
# stride_w): (interior, border, tail); tail 0 = no tail tile on that target.
# CPU time, single thread, AVX3/AVX2, Zen 4, this tree's kernels (noisy
# machine, ±5%). Fitted from: t56p0 / t64p0 (64->64, 3x3, no padding, 56
# and 64 wide: interior only), rn_3x3_56/28/14/7 (border and tail strips of
# 16 / 12 / 14 / 7-wide rows), c100_5x5, rn_stem, rn_3x3_s2. E.g. AVX3 8x1v:
# interior 86% (t56p0), a 14-wide row in one 16-lane border strip 84% of
# nominal peak = 0.91 strip rate; the 7-wide half tail (8 ymm accumulators)
# 62% of nominal = 0.64. AVX2 4x2v: 74% interior on 64-wide, 12-wide border
# strips 63% nominal (rn_3x3_28; 51% before border strips used plain loads
# instead of vmaskmovps, direct-inl.h StripArgs::blend), its 8x1v tail 0.60
# (rn_3x3_7).
# Stride 2 (de-interleaved rows, direct-inl.h SplitRows): AVX3 8x1v rn_stem
# 83% (interior 0.84), rn_3x3_s2 69% (two border strips: 0.78).
# Unlisted tiles fall back to TileModel (efficiency()).
FITTED = {
    ("avx3", 8, 1, None, 1): (0.88, 0.88, 0.64),
    ("avx3", 16, 1, 8, 1): (0.70, 0.70, 0.32),
    ("avx3", 8, 1, None, 2): (0.84, 0.78, 0.64),
    ("avx3", 16, 1, 8, 2): (0.62, 0.60, 0.30),
    # 8x2v, stride 2 (the k7x7 s2 r16 row, session 14, AMD Zen 5 with two
    # 512-bit FMA pipes, 229 GFLOP/s per core): rn_stem 86.4% of nominal
    # peak (3 strips of 32 + a 16-wide tail run as 16x1v, the 8x1v row
    # 63-69% and smallmap 83% in the same explore run). Not measured on
    # Zen 4; there too it reads half the loads per FMA of 8x1v with twice the
    # accumulators.
    ("avx3", 8, 2, None, 2): (0.90, 0.86, 0.80),
    # interior refitted (issue 4): c100_5x5, 64-wide rows, interior strips
    # only, wall clock, quiet core: 97.8-98.8 GFLOP/s = 0.84 (was 0.76, a
    # CPU-time figure from a loaded machine; with it the plan ran c100 AVX2
    # on im2col at 86-88).
    ("avx2", 4, 2, None, 1): (0.84, 0.69, 0.60),
    ("avx2", 4, 2, None, 2): (0.74, 0.60, 0.60),
    ("avx2", 8, 1, None, 1): (0.64, 0.62, 0.30),
    ("avx2", 8, 1, None, 2): (0.64, 0.55, 0.30),
}


class DirectRow(KernelRow):
    """One registry row: a direct k x k kernel specialisation."""

    family = "direct"
    template_header = "kernels/direct-inl.h"
    once_header = "kernels/direct.h"

    def __init__(self, kh, kw, sh, sw, dh, dw, r, tiles):
        self.kh, self.kw = kh, kw
        self.sh, self.sw, self.dh, self.dw, self.r = sh, sw, dh, dw, r
        self.tiles = tiles  # target -> Tile

    def key(self):
        return (self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.r,
                tuple(self.tiles[t].text() for t in TARGETS))

    @property
    def name(self):
        t = self.tiles["avx3"]
        return "f32_conv2d_k%dx%d_s%s%s_r%d_w%dv%s" % (
            self.kh, self.kw, pair_text(self.sh, self.sw),
            "" if (self.dh, self.dw) == (1, 1) else "_d" + pair_text(self.dh, self.dw),
            self.r, t.v, "" if t.cap is None else t.cap)

    @classmethod
    def parse(cls, f, where):
        if len(f) != 4 + len(TARGETS):
            raise SpecError("%s: direct: expected kernel, stride, dilation, r and %d "
                            "tiles, got %d fields" % (where, len(TARGETS), len(f)))
        m = SPEC_FIELD["kernel"].match(f[0])
        if not m:
            raise SpecError("%s: bad kernel %r" % (where, f[0]))
        kh, kw = int(m.group(1)), int(m.group(2))
        sh, sw = parse_pair(f[1], "s", where)
        dh, dw = parse_pair(f[2], "d", where)
        m = SPEC_FIELD["r"].match(f[3])
        if not m:
            raise SpecError("%s: bad block %r" % (where, f[3]))
        row = cls(kh, kw, sh, sw, dh, dw, int(m.group(1)), parse_tiles(f[4:], where))
        row.check(where)
        return row

    @staticmethod
    def parse_name(name):
        """Name -> (kh, kw, sh, sw, dh, dw, r, avx3 v, avx3 lane cap or None)."""
        m = NAME_GRAMMAR.match(name)
        if not m:
            return None
        g = {k: (int(v) if v else None) for k, v in m.groupdict().items()}
        sw = g["sw"] or g["sh"]
        dh = g["dh"] or 1
        dw = g["dw"] or dh
        return (g["kh"], g["kw"], g["sh"], sw, dh, dw, g["r"], g["v"], g["cap"])

    def name_fields(self):
        a3 = self.tiles["avx3"]
        return (self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.r, a3.v, a3.cap)

    def check(self, where):
        if min(self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.r) < 1:
            raise SpecError("%s: sizes must be >= 1" % where)
        if self.sw not in (1, 2):
            raise SpecError("%s: direct kernels support stride_w 1 and 2" % where)
        for t in TARGETS:
            tile = self.tiles[t]
            if tile.rs < 1 or tile.v < 1 or self.r % tile.rs:
                raise SpecError("%s: %s tile %s: RS must divide R=%d" % (where, t, tile.text(), self.r))
            limit = VECTOR_REGISTERS[t]
            if limit is not None and self.registers(t) > limit:
                raise SpecError("%s: %s tile %s needs %d vector registers > %d" %
                                (where, t, tile.text(), self.registers(t), limit))

    def registers(self, target):
        """Vector registers the interior loop of `target` needs."""
        t = self.tiles[target]
        folded = target == "avx3" and t.v == 1
        return t.rs * t.v + t.v + (0 if folded else 1) + (1 if self.sw == 2 else 0)

    def efficiency(self, target):
        """TileModel: modelled fraction of peak on an interior strip.

        Per kernel tap: FMA cycles = RS*V*N/16 (16 fp32 FMA lanes per cycle);
        load cycles = V*SW vector loads at N/16 each (one zmm or two ymm per
        cycle) + RS broadcasts at 1/2 each (Zen 4 issues 2 vector loads per
        cycle); the stride-2 ConcatEven adds V*N/16 cycles on the FMA/shuffle
        pipes. Latency: 4-cycle FMA needs 4 zmm or 8 narrower accumulators.
        """
        t = self.tiles[target]
        n = t.lanes(target)
        width = max(n, 8) if target in ("avx3", "avx2") else 16
        fma = t.rs * t.v * width / 16.0
        shuffle = t.v * width / 16.0 if self.sw == 2 and n > 1 else 0.0
        loads = t.v * self.sw * width / 16.0 + t.rs / 2.0
        needed = 4 if n >= 16 else 8
        latency = min(1.0, t.rs * t.v / float(needed))
        return round(TARGET_CEILING[target] * latency * fma / max(fma + shuffle, loads), 3)

    def compile_cost(self):
        """Relative compile cost: unrolled FMAs per kw loop, 2 paths, 4 targets."""
        return sum(self.kw * self.tiles[t].rs * self.tiles[t].v for t in TARGETS) * 2 + 20

    def spec_line(self):
        return "direct k%dx%d s%s d%s r%d %s" % (
            self.kh, self.kw, pair_text(self.sh, self.sw), pair_text(self.dh, self.dw),
            self.r, " ".join("%s=%s" % (t, self.tiles[t].text()) for t in TARGETS))

    def describe(self):
        return " ".join("%s:%s regs=%d rates=%.2f/%.2f/%.2f" % (
            (t, self.tiles[t].text(), self.registers(t)) + self.strip_rates(t)) for t in TARGETS)

    def target_call(self, target):
        t = self.tiles[target]
        return ("direct::DirectTile<%d, %d, %d, %d, %d, %d, %d, %d, %d>(%s, ctx, tile, input, output, scratch);"
                % (self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.r, t.rs, t.v,
                   t.tag(target, "direct")))

    def has_tail(self, target):
        """Whether direct-inl.h runs a short row tail on a tail tile."""
        t = self.tiles[target]
        return (t.v % 2 == 0 and self.r % (2 * t.rs) == 0) or t.lanes(target) >= 8

    def strip_rates(self, target):
        """(interior, border, tail) fractions of peak: FITTED or TileModel."""
        t = self.tiles[target]
        fitted = FITTED.get((target, t.rs, t.v, t.cap, self.sw))
        if fitted is None:
            e = self.efficiency(target)
            fitted = (e, 0.8 * e, 0.6 * e)
        interior, border, tail = fitted
        return interior, border, tail if self.has_tail(target) else 0.0

    def once_lines(self):
        tiles = ",\n".join(
            "    {%s, %d, %d, %d, %.3f, %.3f, %.3f}" % (
                (HWY_TARGET_CONSTANT[t], self.tiles[t].rs, self.tiles[t].v, self.tiles[t].lanes(t))
                + self.strip_rates(t))
            for t in TARGETS)
        return ["constexpr direct::TargetTile kTiles_%s[] = {\n%s};" % (self.name, tiles),
                "double Estimate_%s(const Conv2dParams& p, int64_t target) {" % self.name,
                "  return direct::Estimate(p, target, %d, kTiles_%s, %d);" % (self.r, self.name,
                                                                             len(TARGETS)),
                "}"]

    def info_fields(self):
        a3 = self.tiles["avx3"]
        args = (self.kh, self.kw, self.sh, self.sw, self.dh, self.dw)
        return ["%d, %d, %d, %d, %d, %d, %d, %d, /*priority=*/%d," % (args + (self.r, a3.v, 10)),
                "&direct::Applies<%d, %d, %d, %d, %d, %d>," % args,
                "&direct::PackedWeightFloats<%d, %d, %d>," % (self.kh, self.kw, self.r),
                "&direct::PackWeights<%d, %d, %d>," % (self.kh, self.kw, self.r),
                "&direct::ScratchFloats<%d>, &Estimate_%s, &Resolve_%s," % (self.sw, self.name, self.name)]

    @staticmethod
    def bad_spec_examples():
        return ["direct k3x3 s1 d1 r8 avx3=3x1v avx2=8x1v sse4=8x1v scalar=8x1v",
                "direct k3x3 s1 d1 r8 avx3=8x4v avx2=8x1v sse4=8x1v scalar=8x1v",
                "direct k3x3 s3 d1 r8 avx3=8x1v avx2=8x1v sse4=8x1v scalar=8x1v",
                "direct k3x3 s1 d1 r8 avx3=8x1v avx2=8x1v sse4=8x1v"]

    @staticmethod
    def name_examples():
        """(name, parse_name result or None) pairs the grammar must honour."""
        return [("f32_conv2d_k3_s1_r8_w1v", None), ("f32_conv2d_k3x3_s1_r8", None),
                ("f32_conv2d_k3x3_s1_r8_w1", None),
                ("f32_conv2d_k3x5_s1x2_d2x3_r4_w2v8", (3, 5, 1, 2, 2, 3, 4, 2, 8))]
