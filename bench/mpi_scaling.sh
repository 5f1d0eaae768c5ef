#!/usr/bin/env bash
# Two ranks against one on ResNet-18 cut in 2 balanced stages (the cut
# `spire split --stages 2` proposes), each rank restricted to one CPU thread
# of lavapipe and pinned to a core: the figure of docs/PERFORMANCE.md,
# "Across ranks". Rounds alternate 1 and 2 ranks so that a change in the
# machine's load hits both alike; each prints the last rank's steady
# throughput, and the load average goes beside it.
#
#   bench/mpi_scaling.sh [SPIRE] [ROUNDS] [BATCH] [MICRO_BATCHES] [ITERS]
set -euo pipefail
cd "$(dirname "$0")/.."
SPIRE=${1:-build/bin/spire}
ROUNDS=${2:-4}
BATCH=${3:-16}
M=${4:-16}
ITERS=${5:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cut=$("$SPIRE" split specs/resnet18.yaml --stages 2 2>/dev/null | sed -n 's/.*after: \(.*\)}/\1/p')
sed "/^stages:/,\$d" specs/resnet18.yaml > "$TMP/resnet18_2.yaml"
printf 'stages:\n  - {name: cut1, after: %s}\n' "$cut" >> "$TMP/resnet18_2.yaml"
"$SPIRE" compile "$TMP/resnet18_2.yaml" -o "$TMP/r18.spire" >/dev/null
echo "ResNet-18 cut after $cut; batch $BATCH, $M micro-batches, $ITERS steady runs a round"

run() { # ranks
  LP_NUM_THREADS=1 mpirun --oversubscribe --allow-run-as-root --bind-to core -np "$1" \
    -x LP_NUM_THREADS "$SPIRE" run "$TMP/r18.spire" --mpi --batch "$BATCH" --micro-batches "$M" \
    --iters "$ITERS" --profile
}
for round in $(seq "$ROUNDS"); do
  for ranks in 1 2; do
    out=$(run "$ranks")
    echo "round $round, $ranks rank(s): $(grep '^throughput' <<<"$out")," \
         "steady $(grep '^steady host' <<<"$out" | sed 's/steady host *//'), $(uptime | sed 's/.*load/load/')"
    grep '^  rank' <<<"$out" | sed 's/^/    /' # the --profile table
  done
done
