#!/usr/bin/env bash
# On a lent GPU machine (the `device` tool), from the repository root, with the kit of
# `python tools/device_kit.py pack` carried along (carry: [".device"]):
#   tools/device_train.sh CONFIG MINUTES [KEY=VALUE ...]
# installs the packages the machine lacks, rebuilds the IAM-OnDB data from the kit, and trains CONFIG in
# MINUTES (a probe minute included); the model file, its history and summary.json land in $OUT.
set -euo pipefail
config=$1 minutes=$2
shift 2
out=${OUT:-/tmp/scriba-out}
mkdir -p "$out"
if ! python3 -c "import albumentations, rapidfuzz, lmdb" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .device/whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 SCRIBA_DATA=/tmp/scriba-data
python3 tools/device_kit.py unpack --to "$SCRIBA_DATA"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 tools/device_kit.py train "$config" "$minutes" --out "$out" --set "$@" 2>&1 | tee "$out/train.log"
