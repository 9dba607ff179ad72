"""The pointwise families: 1×1 convolution as a matrix product per image and
group, Y[co_g][h·w] = W[co_g][ci_g] · X[ci_g][h·w] (src/kernels/pointwise-inl.h).

Two spec keywords, one template:
  conv1x1   dense layers (groups = 1)
  gconv1x1  block-diagonal grouped layers (groups > 1, D2L exercise 7): the
            loop over groups runs inside the kernel, and the registry holds
            several R so that the plan's estimate (useful channels of the last
            R block of a group) picks the block that fits the group width:
            r16 for 80 channels a group, r12 for 12, r8 for 24 or 8, r4 for 4.

Block vs tile (as in family_direct): R output channels is the packed weight
block, fixed per row ([g][co/R][ci][R]); each Highway target holds RS (a
divisor of R) channels × V vectors of N = min(L, native) pixels in
registers. Registers: RS·V accumulators + V pixel vectors + 1 broadcast (0 on
AVX3 when V = 1: {1to16} memory operand), against 32 (AVX3) / 16.

Spec line:  conv1x1|gconv1x1 r<R> <target>=<RS>x<V>v[<L>] ...   (every target)
Name (describes the AVX3 tile, docs/kernels.md):
    f32_conv1x1_r<R>_w<V>v[<L>]      f32_gconv1x1_r<R>_w<V>v[<L>]
Any stride and padding (a 1×1 window ignores dilation): the row's sh, sw, dh,
dw are 0 = any.
"""

import re

from genlib import (KernelRow, SpecError, SPEC_FIELD, TARGETS, VECTOR_REGISTERS,
                    TARGET_CEILING, HWY_TARGET_CONSTANT, parse_tiles)


class PointwiseRow(KernelRow):
    """One registry row of a pointwise family (subclasses fix the family)."""

    template_header = "kernels/pointwise-inl.h"
    once_header = "kernels/pointwise.h"
    applies = None  # pointwise.h function: groups rule of the family

    def __init__(self, r, tiles):
        self.r = r
        self.tiles = tiles  # target -> Tile

    def key(self):
        return (self.r, tuple(self.tiles[t].text() for t in TARGETS))

    @classmethod
    def grammar(cls):
        return re.compile(r"^f32_%s_r(?P<r>\d+)_w(?P<v>\d+)v(?P<cap>\d+)?$" % cls.family)

    @property
    def name(self):
        t = self.tiles["avx3"]
        return "f32_%s_r%d_w%dv%s" % (self.family, self.r, t.v, "" if t.cap is None else t.cap)

    @classmethod
    def parse(cls, f, where):
        if len(f) != 1 + len(TARGETS):
            raise SpecError("%s: %s: expected r and %d tiles, got %d fields"
                            % (where, cls.family, len(TARGETS), len(f)))
        m = SPEC_FIELD["r"].match(f[0])
        if not m:
            raise SpecError("%s: bad block %r" % (where, f[0]))
        row = cls(int(m.group(1)), parse_tiles(f[1:], where))
        row.check(where)
        return row

    @classmethod
    def parse_name(cls, name):
        """Name -> (r, avx3 v, avx3 lane cap or None)."""
        m = cls.grammar().match(name)
        if not m:
            return None
        return (int(m.group("r")), int(m.group("v")),
                int(m.group("cap")) if m.group("cap") else None)

    def name_fields(self):
        a3 = self.tiles["avx3"]
        return (self.r, a3.v, a3.cap)

    def check(self, where):
        if self.r < 1:
            raise SpecError("%s: R must be >= 1" % where)
        for t in TARGETS:
            tile = self.tiles[t]
            if tile.rs < 1 or tile.v < 1 or self.r % tile.rs:
                raise SpecError("%s: %s tile %s: RS must divide R=%d" % (where, t, tile.text(), self.r))
            limit = VECTOR_REGISTERS[t]
            if limit is not None and self.registers(t) > limit:
                raise SpecError("%s: %s tile %s needs %d vector registers > %d" %
                                (where, t, tile.text(), self.registers(t), limit))

    def registers(self, target):
        t = self.tiles[target]
        folded = target == "avx3" and t.v == 1
        return t.rs * t.v + t.v + (0 if folded else 1)

    def efficiency(self, target, two_zmm_pipes=False):
        """Modelled fraction of peak of a full strip, per input channel:
        FMA cycles RS·V·N/16 against load cycles (V pixel vectors at N/16 each,
        RS broadcasts at 1/2: two loads a cycle), and the 4-cycle FMA latency
        (4 zmm or 8 narrower accumulators). With `two_zmm_pipes` (AVX3 on a
        CPU with two full-width 512-bit FMA pipes, src/targets.h): two zmm
        FMAs and two zmm loads a cycle, 8 zmm accumulators to cover the
        latency; 16x1v then reads 17 loads per 16 FMAs against 8 FMA cycles
        (0.94), 8x3v 11 per 24 (1.0)."""
        t = self.tiles[target]
        n = t.lanes(target)
        width = max(n, 8) if target in ("avx3", "avx2") else 16
        pipes = 2.0 if two_zmm_pipes and target == "avx3" and n >= 16 else 1.0
        fma = t.rs * t.v * width / 16.0 / pipes
        loads = t.v * width / 16.0 / pipes + t.rs / 2.0
        needed = (4 if n >= 16 else 8) * pipes
        latency = min(1.0, t.rs * t.v / float(needed))
        return round(TARGET_CEILING[target] * latency * fma / max(fma, loads), 3)

    def compile_cost(self):
        """Relative compile cost: unrolled FMAs of the V strip and the two V=1
        strips (full, masked: two descriptors on AVX3), 4 targets."""
        return sum(self.tiles[t].rs * (self.tiles[t].v + 3) for t in TARGETS) + 20

    def spec_line(self):
        return "%s r%d %s" % (self.family, self.r,
                              " ".join("%s=%s" % (t, self.tiles[t].text()) for t in TARGETS))

    def describe(self):
        return " ".join("%s:%s regs=%d eff=%.3f/%.3f" % (
            t, self.tiles[t].text(), self.registers(t), self.efficiency(t),
            self.efficiency(t, two_zmm_pipes=True)) for t in TARGETS)

    def target_call(self, target):
        t = self.tiles[target]
        return ("pointwise::PointwiseTile<%d, %d, %d>(%s, ctx, tile, input, output, scratch);"
                % (self.r, t.rs, t.v, t.tag(target, "pointwise")))

    def once_lines(self):
        tiles = ",\n".join(
            "    {%s, %d, %d, %d, %.3f, %.3f}" % (
                HWY_TARGET_CONSTANT[t], self.tiles[t].rs, self.tiles[t].v, self.tiles[t].lanes(t),
                self.efficiency(t), self.efficiency(t, two_zmm_pipes=True))
            for t in TARGETS)
        return ["constexpr pointwise::TargetTile kTiles_%s[] = {\n%s};" % (self.name, tiles),
                "double Estimate_%s(const Conv2dParams& p, int64_t target) {" % self.name,
                "  return pointwise::Estimate(p, target, %d, kTiles_%s, %d);" % (self.r, self.name,
                                                                                len(TARGETS)),
                "}"]

    def info_fields(self):
        a3 = self.tiles["avx3"]
        return ["1, 1, 0, 0, 0, 0, %d, %d, /*priority=*/%d," % (self.r, a3.v, 10),
                "&pointwise::%s," % self.applies,
                "&pointwise::PackedWeightFloats<%d>," % self.r,
                "&pointwise::PackWeights<%d>," % self.r,
                "&pointwise::ScratchFloats, &Estimate_%s, &Resolve_%s," % (self.name, self.name)]

    @classmethod
    def bad_spec_examples(cls):
        f = cls.family
        return ["%s r16 avx3=12x1v avx2=8x1v sse4=4x2v scalar=4x2v" % f,   # RS does not divide R
                "%s r16 avx3=16x2v avx2=8x1v sse4=4x2v scalar=4x2v" % f,   # 48 > 32 registers
                "%s r8 avx3=8x1v avx2=8x2v sse4=4x2v scalar=4x2v" % f,     # 19 > 16 registers
                "%s r8 avx3=8x1v avx2=8x1v sse4=4x2v" % f,                 # a target missing
                "%s k1x1 r8 avx3=8x1v avx2=8x1v sse4=4x2v scalar=4x2v" % f]

    @classmethod
    def name_examples(cls):
        f = cls.family
        return [("f32_%s_r16_w1v" % f, (16, 1, None)), ("f32_%s_r4_w6v8" % f, (4, 6, 8)),
                ("f32_%s_r16" % f, None), ("f32_%s_k1x1_r16_w1v" % f, None),
                ("f32_conv2d_k1x1_s1_r16_w1v", None)]


class Conv1x1Row(PointwiseRow):
    family = "conv1x1"
    applies = "AppliesDense"


class Gconv1x1Row(PointwiseRow):
    family = "gconv1x1"
    applies = "AppliesGrouped"
