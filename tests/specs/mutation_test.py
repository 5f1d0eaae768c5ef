#!/usr/bin/python3
"""`spire check` never crashes: seeded random mutations of the zoo specs
(deleted, duplicated or swapped lines, changed characters, numbers replaced
by 0, -1 or huge values) must each end with exit 0 or 1 and, for 1, an
`error:` line that names a position in the file. Any signal, exit code
>= 2 or silent failure is a failure."""
import glob
import os
import random
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spire = sys.argv[1]
rng = random.Random(2026)
specs = sorted(glob.glob(os.path.join(ROOT, "specs", "*.yaml")))


def mutate(lines):
    lines = list(lines)
    kind = rng.randrange(6)
    i = rng.randrange(len(lines))
    if kind == 0:
        del lines[i]
    elif kind == 1:
        lines.insert(i, lines[rng.randrange(len(lines))])
    elif kind == 2:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 3 and lines[i]:
        k = rng.randrange(len(lines[i]))
        lines[i] = lines[i][:k] + rng.choice("{}[]:,-$ x#'\"\t") + lines[i][k + 1:]
    elif kind == 4:
        lines[i] = re.sub(r"\d+", lambda m: rng.choice(["0", "-1", "99999999999", "3"]), lines[i], 1)
    else:
        lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    return lines


failed = 0
runs = 0
with tempfile.TemporaryDirectory() as tmp:
    for n in range(300):
        spec = specs[n % len(specs)]
        lines = open(spec).read().split("\n")
        for _ in range(rng.randrange(1, 4)):
            lines = mutate(lines)
        path = os.path.join(tmp, f"mutant{n}.yaml")
        open(path, "w").write("\n".join(lines))
        bind = ["--set", "L=64"] if "conv1d_sequence" in spec else []
        result = subprocess.run([spire, "check", path] + bind, capture_output=True, text=True,
                                timeout=60)
        runs += 1
        ok = result.returncode == 0 or (
            result.returncode == 1 and re.search(r"mutant\d+\.yaml:\d+:\d+: error: ", result.stderr))
        if not ok:
            failed += 1
            print(f"FAIL mutant {n} of {os.path.basename(spec)}: exit {result.returncode}\n"
                  f"{result.stderr[-800:]}")
            os.replace(path, f"/tmp/spire-mutant{n}.yaml")
print(f"{runs - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
