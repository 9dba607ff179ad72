#!/usr/bin/env python3
"""convgen kernel generator: specs -> Highway translation units + registry.

Reads the spec files (gen/*_spec.txt; one registry row a line, the family
first) and writes, into --out-dir:
  gen_kernels_<i>.cc      --num-files Highway TUs (foreach_target self-include),
                          kernels balanced over them by estimated compile cost
  convgen_registry.inc    one CONVGEN_KERNEL(symbol) row per kernel
Files are rewritten only when their content changes, so an unchanged kernel
never recompiles. Standard library only; the output depends on nothing but the
specs and these scripts (deterministic).

Families (tile shapes and name grammar in each module's docstring and in
docs/kernels.md): adding a family = a KernelRow subclass in gen/family_*.py
plus one line in FAMILIES; adding a kernel = one spec line.

--self-test checks every spec's round trip, unique names, that every name
parses back to its row, that bad spec lines are refused, and the register
budgets; exit status 0 = pass. --list prints each row's model figures.
"""

import argparse
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from genlib import SpecError, balance, generate  # noqa: E402
from family_direct import DirectRow  # noqa: E402
from family_dwconv import DwconvRow  # noqa: E402
from family_gconv import GconvRow  # noqa: E402
from family_pointwise import Conv1x1Row, Gconv1x1Row  # noqa: E402

FAMILIES = {cls.family: cls for cls in (DirectRow, Conv1x1Row, Gconv1x1Row, DwconvRow,
                                         GconvRow)}


def parse_spec(text, source="spec"):
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        where = "%s:%d" % (source, lineno)
        f = line.split()
        cls = FAMILIES.get(f[0])
        if cls is None:
            raise SpecError("%s: unknown family %r (known: %s)" % (where, f[0], " ".join(FAMILIES)))
        rows.append(cls.parse(f[1:], where))
    return rows


def self_test(rows):
    errors = []
    again = parse_spec("\n".join(r.spec_line() for r in rows), "round-trip")
    if again != rows:
        errors.append("spec round trip changed the rows")
    names = [r.name for r in rows]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        errors.append("duplicate names: " + ", ".join(dupes))
    for r in rows:
        parsed = type(r).parse_name(r.name)
        if parsed != r.name_fields():
            errors.append("%s does not parse back (%r != %r)" % (r.name, parsed, r.name_fields()))
        for other in FAMILIES.values():  # names are unambiguous across families
            if other is not type(r) and other.parse_name(r.name) is not None:
                errors.append("%s also parses as a %s name" % (r.name, other.family))
    for cls in FAMILIES.values():
        for name, want in cls.name_examples():
            if cls.parse_name(name) != want:
                errors.append("%s grammar: %r -> %r, want %r" % (cls.family, name,
                                                                  cls.parse_name(name), want))
        for bad in cls.bad_spec_examples():
            try:
                parse_spec(bad)
                errors.append("spec accepted %r" % bad)
            except SpecError:
                pass
    groups = balance(rows, 8)
    if sorted(n.name for g in groups for n in g) != sorted(names):
        errors.append("balance lost or duplicated kernels")
    for e in errors:
        print("self-test FAILED:", e, file=sys.stderr)
    if not errors:
        print("self-test passed: %d rows, names unique and parse back" % len(rows))
    return not errors


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", nargs="+", default=sorted(glob.glob(os.path.join(here, "*_spec.txt"))))
    ap.add_argument("--out-dir")
    ap.add_argument("--num-files", type=int, default=8)
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--list", action="store_true", help="print name, cost and model per row")
    args = ap.parse_args(argv)
    rows = []
    for spec in args.spec:
        with open(spec, encoding="utf-8") as f:
            try:
                rows += parse_spec(f.read(), os.path.basename(spec))
            except SpecError as e:
                print("gen_kernels.py: error: %s" % e, file=sys.stderr)
                return 2
    if args.self_test:
        return 0 if self_test(rows) else 1
    if args.list:
        for r in rows:
            print("%-40s cost %4d  %s" % (r.name, r.compile_cost(), r.describe()))
        return 0
    if not args.out_dir:
        ap.error("--out-dir is required")
    changed = generate(rows, args.out_dir, args.num_files)
    print("gen_kernels.py: %d rows, %d files rewritten" % (len(rows), len(changed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
