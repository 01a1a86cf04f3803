#!/usr/bin/env bash
# The train-step benchmark on every GPU backend that starts on this machine, beside wasm, in one run.
#
#   bash tools/gpu-check.sh                 # after `npm ci` and the build (npx nx run-many -t build)
#   MODEL=small STEPS=10 bash tools/gpu-check.sh
#
# For each of tensorflow-gpu (@tensorflow/tfjs-node-gpu, CUDA) and webgpu (tfjs-backend-webgpu on
# the npm package `webgpu`, Dawn), it first asks `initBackend` in a child process whether the
# backend starts, and prints the reason when it does not. Each backend that starts runs
# packages/backends/bench/train-step.bench.ts (forward, SupCon loss, backward, SGD at batch 128:
# the small ResNet and ResNet-18), and so does wasm with supcon's kernels, for the ratio. It
# prints one table: backend, model, images/s, ratio to wasm. Exit 0 when at least one GPU backend
# ran, 2 when none started (the reasons are printed), 1 when a benchmark failed.
set -u
cd "$(dirname "$0")/.."
MODEL=${MODEL:-all}
STEPS=${STEPS:-5}
TORCH=${TORCH:-0}   # 1: PyTorch (CPU, Debian's python3-torch) beside each run, as the plain benchmark does
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /'
fi

# Does the backend start? One child process each (a process keeps the first backend it starts),
# through the built package (dist).
starts() {
  node --input-type=module -e "
    import { initBackend } from '@supcon/backends';
    try { await initBackend('$1'); console.log('ok'); }
    catch (e) { console.log('no: ' + (e && e.message ? e.message : String(e))); }
    process.exit(0);
  " 2>/dev/null | tail -n 1
}

torch_flag=--no-torch
[ "$TORCH" = 1 ] && torch_flag=

ran_gpu=0
failed=0
backends=(wasm)
for b in tensorflow-gpu webgpu; do
  answer=$(starts "$b")
  if [ "$answer" = ok ]; then
    echo "$b: starts"
    backends+=("$b")
  else
    echo "$b: ${answer:-no: the probe printed nothing}"
  fi
done

for b in "${backends[@]}"; do
  echo
  echo "== $b"
  # shellcheck disable=SC2086
  if node --import jiti/register packages/backends/bench/train-step.bench.ts --backend "$b" --model "$MODEL" --steps "$STEPS" $torch_flag --json "$out/$b.json"; then
    [ "$b" != wasm ] && ran_gpu=1
  else
    echo "$b: the benchmark failed (above)"
    failed=1
  fi
done

echo
list=$(printf '"%s",' "${backends[@]}")
node --input-type=module -e "
  import { existsSync, readFileSync } from 'node:fs';
  const rows = [${list%,}].filter((b) => existsSync('$out/' + b + '.json')).flatMap((b) => JSON.parse(readFileSync('$out/' + b + '.json', 'utf8')));
  const wasm = Object.fromEntries(rows.filter((r) => r.backend === 'wasm').map((r) => [r.model, r.imagesPerSecond]));
  console.log('| backend | model | images/s | x wasm |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows) console.log('| ' + r.backend + ' | ' + r.model + ' | ' + r.imagesPerSecond.toFixed(1) + ' | ' + (wasm[r.model] ? (r.imagesPerSecond / wasm[r.model]).toFixed(2) : 'n/a') + ' |');
"

if [ "$failed" = 1 ]; then exit 1; fi
if [ "$ran_gpu" = 0 ]; then
  echo "no GPU backend started on this machine (reasons above); only wasm ran"
  exit 2
fi
