"""The "gconv" family: grouped k×k NCHW kernels for few channels per group.

ResNeXt-style layers (rnx_g32_3x3: 128 channels in 32 groups of 4 in, 4 out)
leave a dense kernel's R-channel register block mostly empty. Here the
register tile holds *all* the output channels of a group, padded to C (the
row's block, cog <= C), × T output rows × V vectors of N lanes, and the kernel
loops over the groups inside the tile (src/kernels/gconv-inl.h). It is the
row-tile core of the depthwise family (dwconv-inl.h) with C > 1 channels and
a loop over the group's input channels: each input row's KW·V shifted
vectors feed C channels × the output rows that use it.

Block vs tile. The weights are packed per group, [g][ci/g][kh][kw][C]
(channels >= cog zero), so the C broadcasts of one tap are adjacent floats;
C is fixed per registry row (packing happens before the target is known).
Per target the tile is T rows × V vectors (genlib.Tile's rs = T).

Spec line:  gconv k<KH>x<KW> s<SH>[x<SW>] c<C> <target>=<T>x<V>v[<L>] ...
Name (describes the AVX3 tile, docs/kernels.md):
    f32_gconv_k<KH>x<KW>_s<SH>[x<SW>]_c<C>_h<T>_w<V>v[<L>]
"""

import re

from genlib import KernelRow, SpecError, SPEC_FIELD, TARGETS, parse_pair, parse_tiles, pair_text
from family_dwconv import check_row_tiles, once_tile_lines, row_tile_model, row_tile_registers

NAME_GRAMMAR = re.compile(
    r"^f32_gconv_k(?P<kh>\d+)x(?P<kw>\d+)_s(?P<sh>\d+)(?:x(?P<sw>\d+))?"
    r"_c(?P<c>\d+)_h(?P<t>\d+)_w(?P<v>\d+)v(?P<cap>\d+)?$")
CHANNELS = re.compile(r"^c(\d+)$")


class GconvRow(KernelRow):
    """One registry row: a grouped k x k kernel for cog <= C channels per group."""

    family = "gconv"
    template_header = "kernels/gconv-inl.h"
    once_header = "kernels/gconv.h"

    def __init__(self, kh, kw, sh, sw, c, tiles):
        self.kh, self.kw, self.sh, self.sw, self.c = kh, kw, sh, sw, c
        self.tiles = tiles

    def key(self):
        return (self.kh, self.kw, self.sh, self.sw, self.c,
                tuple(self.tiles[t].text() for t in TARGETS))

    @property
    def name(self):
        t = self.tiles["avx3"]
        return "f32_gconv_k%dx%d_s%s_c%d_h%d_w%dv%s" % (
            self.kh, self.kw, pair_text(self.sh, self.sw), self.c, t.rs, t.v,
            "" if t.cap is None else t.cap)

    @classmethod
    def parse(cls, f, where):
        if len(f) != 3 + len(TARGETS):
            raise SpecError("%s: gconv: expected kernel, stride, c<C> and %d tiles, got %d "
                            "fields" % (where, len(TARGETS), len(f)))
        m = SPEC_FIELD["kernel"].match(f[0])
        if not m:
            raise SpecError("%s: bad kernel %r" % (where, f[0]))
        sh, sw = parse_pair(f[1], "s", where)
        mc = CHANNELS.match(f[2])
        if not mc or not 1 <= int(mc.group(1)) <= 16:
            raise SpecError("%s: bad channel block %r (c1..c16)" % (where, f[2]))
        row = cls(int(m.group(1)), int(m.group(2)), sh, sw, int(mc.group(1)),
                  parse_tiles(f[3:], where))
        row.check(where)
        return row

    @staticmethod
    def parse_name(name):
        """Name -> (kh, kw, sh, sw, c, avx3 rows, avx3 v, avx3 lane cap or None)."""
        m = NAME_GRAMMAR.match(name)
        if not m:
            return None
        g = {k: (int(v) if v else None) for k, v in m.groupdict().items()}
        return (g["kh"], g["kw"], g["sh"], g["sw"] or g["sh"], g["c"], g["t"], g["v"], g["cap"])

    def name_fields(self):
        a3 = self.tiles["avx3"]
        return (self.kh, self.kw, self.sh, self.sw, self.c, a3.rs, a3.v, a3.cap)

    def check(self, where):
        check_row_tiles(self, where, channels=self.c)

    def registers(self, target):
        return row_tile_registers(target, self.kw, self.sw, self.c, self.tiles[target])

    def efficiency(self, target):
        return row_tile_model(target, self.kh, self.kw, self.sh, self.sw, self.c,
                              self.tiles[target], self.family)

    def compile_cost(self):
        """Unrolled FMAs of the tile (C·T·KH·KW·V), 3 variants, 4 targets."""
        return sum(self.c * self.kh * self.kw * self.tiles[t].rs * self.tiles[t].v
                   for t in TARGETS) + 20

    def spec_line(self):
        return "gconv k%dx%d s%s c%d %s" % (
            self.kh, self.kw, pair_text(self.sh, self.sw), self.c,
            " ".join("%s=%s" % (t, self.tiles[t].text()) for t in TARGETS))

    def describe(self):
        return " ".join("%s:%s regs=%d eff=%.3f" % (t, self.tiles[t].text(), self.registers(t),
                                                     self.efficiency(t)) for t in TARGETS)

    def target_call(self, target):
        t = self.tiles[target]
        return ("gconv::GconvTile<%d, %d, %d, %d, %d, %d, %d>(%s, ctx, tile, input, output);"
                % (self.kh, self.kw, self.sh, self.sw, self.c, t.rs, t.v,
                   t.tag(target, "rowtile")))

    def once_lines(self):
        return once_tile_lines(self) + [
            "double Estimate_%s(const Conv2dParams& p, int64_t target) {" % self.name,
            "  return gconv::Estimate(p, target, %d, kTiles_%s, %d);" % (self.c, self.name,
                                                                        len(TARGETS)),
            "}"]

    def info_fields(self):
        a3 = self.tiles["avx3"]
        args = (self.kh, self.kw, self.sh, self.sw)
        return ["%d, %d, %d, %d, 1, 1, /*r=*/%d, /*v=*/%d, /*priority=*/25,"
                % (args + (self.c, a3.v)),
                "&gconv::Applies<%d, %d, %d, %d, %d>," % (args + (self.c,)),
                "&gconv::PackedWeightFloats<%d, %d, %d>," % (self.kh, self.kw, self.c),
                "&gconv::PackWeights<%d, %d, %d>," % (self.kh, self.kw, self.c),
                "&rowtile::NoScratch, &Estimate_%s, &Resolve_%s," % (self.name, self.name)]

    @staticmethod
    def bad_spec_examples():
        return ["gconv k3x3 s1 c4 avx3=4x1v avx2=4x1v sse4=2x1v scalar=2x1v",
                "gconv k3x3 s1 c0 avx3=4x1v avx2=2x1v sse4=2x1v scalar=2x1v",
                "gconv k3x3 s3 c4 avx3=4x1v avx2=2x1v sse4=2x1v scalar=2x1v",
                "gconv k3x3 s1 avx3=4x1v avx2=2x1v sse4=2x1v scalar=2x1v"]

    @staticmethod
    def name_examples():
        return [("f32_gconv_k3x3_s1_h4_w1v", None), ("f32_gconv_k3x3_s1_c4_w1v", None),
                ("f32_gconv_k3x5_s2x1_c8_h2_w1v8", (3, 5, 2, 1, 8, 2, 1, 8))]
