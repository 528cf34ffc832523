#!/usr/bin/env bash
# Train the assistant's model with the Rasa environment, offline, under a fixed name.
#   scripts/train.sh [OUT.tar.gz] [EXTRA_NLU_FILE ...]
# OUT defaults to models/current.tar.gz; EXTRA_NLU_FILEs (e.g. history from `bot train
# --history`) are trained on together with data/nlu. Writes OUT's training time next to it
# as <name>.train.json.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-models/current.tar.gz}
shift || true
dir=$(dirname "$out")
name=$(basename "$out" .tar.gz)
mkdir -p "$dir"
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONHASHSEED=0
start=$(date +%s)
.venv/rasa/bin/rasa train --config config.yml --domain domain.yml \
  --data data/nlu data/rules.yml data/stories.yml "$@" \
  --out "$dir" --fixed-model-name "$name" --force
seconds=$(( $(date +%s) - start ))
printf '{"model": "%s", "train_seconds": %d, "trained_at": "%s"}\n' \
  "$out" "$seconds" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$dir/$name.train.json"
echo "trained $out in ${seconds}s"
