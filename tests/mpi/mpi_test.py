"""`mpirun -np S spire run --mpi` against the single-process `spire run`.

identical MODEL: the zoo spec compiled with seeded weights; its outputs over
S = 2 and 3 ranks (as far as the model has stages) and M = 1, 2 and 7
micro-batches, at batches not divisible by M, must equal the single-process
run's bit for bit (the .safetensors files byte for byte).

faults: every rank must end non-zero, within a bounded time, with a message
naming the rank, its stages and the cause: stages per rank that skip one; a
device that is not there; a bad input on rank 0; a rank killed by SIGKILL
mid-run; a rank stopped (SIGSTOP) so that the others time out; a different
bundle on rank 1; a cut whose shapes disagree. (Before those, --ranks 0..1,2
on 2 ranks must give the single-process outputs.)
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Ends a fault test that would otherwise hang; every fault must end well
# before. (A model's runs are left to ctest's TIMEOUT: on a loaded machine a
# big one takes minutes.)
HANG = 120


def run(cmd, expect_ok=True, timeout=HANG):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if expect_ok and proc.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def mpirun(args, ranks, *spire_args):
    return [args.mpirun, "--oversubscribe", "--allow-run-as-root", "-np", str(ranks),
            args.spire, "run", *spire_args, "--mpi", "--validate"]


def compile_spec(args, spec, out):
    run([args.spire, "compile", spec, "-o", out], timeout=None)
    return out


def identical(args):
    spec = os.path.join(ROOT, "specs", args.model + ".yaml")
    with tempfile.TemporaryDirectory() as tmp:
        bundle = compile_spec(args, spec, os.path.join(tmp, args.model + ".spire"))
        failures = 0
        refs = {}
        for batch in sorted({b for _, b in args.cases}):
            refs[batch] = os.path.join(tmp, f"ref{batch}.safetensors")
            run([args.spire, "run", bundle, "--validate", "--batch", str(batch), "--output",
                 refs[batch]], timeout=None)
        for ranks in args.ranks:
            for m, batch in args.cases:
                out = os.path.join(tmp, f"out_{ranks}_{m}_{batch}.safetensors")
                proc = run(mpirun(args, ranks, bundle, "--batch", str(batch), "--micro-batches",
                                  str(m), "--output", out), timeout=None)
                with open(refs[batch], "rb") as a, open(out, "rb") as b:
                    same = a.read() == b.read()
                print(f"{args.model}: {ranks} ranks, {m} micro-batch(es), batch {batch}: "
                      f"{'bit-identical' if same else 'DIFFERS'}")
                if not same:
                    print(proc.stdout)
                    failures += 1
        return failures


def expect_failure(name, proc, wanted_code, needles, seconds):
    """A fault run: non-zero (wanted_code if given), the messages present."""
    text = proc.stdout + proc.stderr
    problems = []
    if proc.returncode == 0 or (wanted_code is not None and proc.returncode != wanted_code):
        problems.append(f"exit {proc.returncode}, expected {wanted_code or 'non-zero'}")
    # a needle is a substring, or a compiled pattern
    problems += [f"no '{getattr(n, 'pattern', n)}' in the output" for n in needles
                 if (n.search(text) is None if hasattr(n, "search") else n not in text)]
    print(f"{name}: exit {proc.returncode} after {seconds:.1f} s"
          + ("" if not problems else ": FAIL: " + "; ".join(problems)))
    if problems:
        print(text)
    return len(problems) > 0


def rank_pid(mpirun_pid, rank):
    """The pid of `rank` among mpirun's children (by OMPI_COMM_WORLD_RANK)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != mpirun_pid:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
            return int(pid)
    return None


def signalled(args, bundle, sig, extra):
    """A 3-rank run of many iterations; `sig` to rank 1 once every rank runs."""
    cmd = mpirun(args, 3, bundle, "--batch", "4", "--micro-batches", "4", "--iters", "100000",
                 *extra)
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    while sum("on host" in line for line in lines) < 3:  # every rank loaded, the runs start
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
    time.sleep(1)
    pid = rank_pid(proc.pid, 1)
    if pid is None:
        proc.kill()
        sys.exit("FAIL: rank 1's process not found among mpirun's children\n" + "".join(lines))
    os.kill(pid, sig)
    try:
        rest, _ = proc.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit(f"FAIL: mpirun still running {HANG} s after rank 1 got signal {sig}")
    return subprocess.CompletedProcess(cmd, proc.returncode, "".join(lines) + rest, ""), \
        time.time() - start


def faults(args):
    spec = os.path.join(ROOT, "tests", "mpi", "specs", "mpi_chain.yaml")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        bundle = compile_spec(args, spec, os.path.join(tmp, "a.spire"))
        # The same model with another width at the first cut: other bundle,
        # other interface.
        with open(spec) as f:
            text = f.read()
        other_spec = os.path.join(tmp, "other.yaml")
        with open(other_spec, "w") as f:
            f.write(text.replace("out: 32", "out: 24", 1))
        other = compile_spec(args, other_spec, os.path.join(tmp, "b.spire"))

        # --ranks: stages 0..1 on rank 0, 2 on rank 1, as the whole model.
        ref, out = os.path.join(tmp, "ref.safetensors"), os.path.join(tmp, "out.safetensors")
        run([args.spire, "run", bundle, "--batch", "5", "--output", ref])
        run(mpirun(args, 2, bundle, "--ranks", "0..1,2", "--batch", "5", "--micro-batches", "3",
                   "--output", out))
        with open(ref, "rb") as a, open(out, "rb") as b:
            same = a.read() == b.read()
        print(f"--ranks 0..1,2: {'bit-identical' if same else 'DIFFERS'}")
        failures += not same

        # The spec's placement groups stages 0 and 1 on one rank.
        placed_spec = os.path.join(tmp, "placed.yaml")
        with open(placed_spec, "w") as f:
            f.write(text + "placement: [0, 0, 1]\n")
        placed = compile_spec(args, placed_spec, os.path.join(tmp, "placed.spire"))
        proc = run(mpirun(args, 2, placed, "--batch", "5", "--micro-batches", "3", "--output",
                          out))
        with open(ref, "rb") as a, open(out, "rb") as b:
            same = a.read() == b.read() and "rank 0 (stages 0..1)" in proc.stdout
        print(f"placement [0, 0, 1]: {'bit-identical' if same else 'DIFFERS'}")
        failures += not same

        # Stages per rank that skip one; a device that is not there.
        start = time.time()
        proc = run(mpirun(args, 2, bundle, "--ranks", "0,2"), expect_ok=False)
        failures += expect_failure(
            "--ranks skipping a stage", proc, 2,
            ["stages per rank '0,2': rank 1 starts at stage 2 but rank 0's end at stage 0"],
            time.time() - start)
        start = time.time()
        cmd = [args.mpirun, "--oversubscribe", "--allow-run-as-root",
               "-np", "2", args.spire, "run", bundle, "--mpi", ":",
               "-np", "1", args.spire, "run", bundle, "--mpi", "--device", "7"]
        proc = run(cmd, expect_ok=False)
        failures += expect_failure(
            "no device 7 on rank 2", proc, 2,
            ["error: rank 2 (stage 2): --device 7: there are"], time.time() - start)

        # A bad input on rank 0: 5 features where the model takes 16.
        import numpy as np
        bad = os.path.join(tmp, "bad.npy")
        np.save(bad, np.zeros((4, 5), dtype=np.float32))
        start = time.time()
        proc = run(mpirun(args, 3, bundle, "--input", f"x={bad}", "--micro-batches", "2"),
                   expect_ok=False)
        failures += expect_failure(
            "bad input on rank 0", proc, 1,
            ["rank 0 (stage 0): micro-batch 0 of 2 (2 of the batch's 4 rows): input 'x'",
             "rank 1 (stage 1) stopped: rank 0 (stage 0)",
             "rank 2 (stage 2) stopped: rank 0 (stage 0)"], time.time() - start)

        # Rank 1 loads another bundle: refused before any work, by every rank.
        start = time.time()
        cmd = [args.mpirun, "--oversubscribe", "--allow-run-as-root",
               "-np", "1", args.spire, "run", bundle, "--mpi", ":",
               "-np", "1", args.spire, "run", other, "--mpi", ":",
               "-np", "1", args.spire, "run", bundle, "--mpi"]
        proc = run(cmd, expect_ok=False)
        failures += expect_failure(
            "another bundle on rank 1", proc, 1,
            ["the ranks loaded different bundles", "rank 1: mpi_chain checksum"],
            time.time() - start)
        if "on host" in proc.stdout:
            print("FAIL: a rank started work with mismatched bundles")
            failures += 1

        # The same, let through by --mixed-bundles: the cut's shapes disagree.
        start = time.time()
        cmd = [args.mpirun, "--oversubscribe", "--allow-run-as-root",
               "-np", "1", args.spire, "run", bundle, "--mpi", "--mixed-bundles", ":",
               "-np", "2", args.spire, "run", other, "--mpi", "--mixed-bundles"]
        proc = run(cmd, expect_ok=False)
        failures += expect_failure(
            "cut shapes disagree", proc, 1,
            ["the cut between rank 0 (stage 0) and rank 1 (stage 1) disagrees",
             "[N, 32]", "[N, 24]"], time.time() - start)

        # Rank 1 killed by a signal mid-run: mpirun ends the others.
        proc, seconds = signalled(args, bundle, signal.SIGKILL, [])
        failures += expect_failure(
            "rank 1 killed mid-run", proc, None,
            ["rank 1 (stage 1): device", "rank 1", "signal 9",
             "rank 0 (stage 0): ended by mpirun", "rank 2 (stage 2): ended by mpirun"], seconds)

        # Rank 1 stopped mid-run: the others give up after --mpi-timeout.
        proc, seconds = signalled(args, bundle, signal.SIGSTOP, ["--mpi-timeout", "3"])
        failures += expect_failure(
            "rank 1 stopped mid-run", proc, 3,
            [re.compile(r"error: rank [02] \(stage [02]\)(: | stopped: rank 2 \(stage 2\): )"
                        r"waited 3 s for [^\n]*rank 1 \(stage 1\)")], seconds)
    return failures


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spire", required=True)
    p.add_argument("--mpirun", required=True)
    p.add_argument("--model", help="identical: a zoo model with split points")
    p.add_argument("--ranks", type=int, nargs="*", default=[2, 3])
    p.add_argument("--cases", nargs="*", default=["1:3", "2:3", "7:8"],
                   help="micro-batches:batch pairs (default: M = 1, 2 at batch 3, 7 at batch 8)")
    p.add_argument("--faults", action="store_true")
    args = p.parse_args()
    args.cases = [tuple(int(x) for x in case.split(":")) for case in args.cases]
    failures = faults(args) if args.faults else identical(args)
    if failures:
        sys.exit(f"{failures} failure(s)")
    print("ok")


if __name__ == "__main__":
    main()
