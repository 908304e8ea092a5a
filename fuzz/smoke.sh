#!/usr/bin/env bash
# A short run of one fuzz target: usage smoke.sh TARGET SEED_CORPUS WORK_DIR.
# Runs the seed corpus, then fuzzes for 10,000 inputs or 20 seconds; new
# inputs are written to WORK_DIR (emptied first), never to the seed corpus.
set -euo pipefail
target=$1 seeds=$2 work=$3
rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"
exec "$target" -runs=10000 -max_total_time=20 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/new" "$seeds"
