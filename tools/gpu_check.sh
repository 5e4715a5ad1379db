#!/usr/bin/env bash
# The WebGPU figures on a machine with a hardware GPU and no registry access.
#
# Here (reaches the registries), from the project root:  tools/gpu_check.sh pack
#   fills .gpu/: Deno compressed, the Vulkan loader package, and a compressed
#   module cache for the benchmarks under a config (.gpu/deno.json) that names
#   only the packages they import, so the whole folder stays near 36 MB.
# There, from the project root, after the prelude line that unpacks Deno and
# installs the Vulkan loader:  tools/gpu_check.sh run
#   prints the adapter, then the webgpu rows of bench:kernels, bench:train
#   (mlp, cnn, resnet20) and bench:workers (resnet20), one JSON object a line,
#   and copies them to $OUT/gpu.jsonl when $OUT is set.
set -uo pipefail
[ -f deno.json ] || { echo "run from the project root" >&2; exit 2; }
case "${1:-}" in
pack)
  set -e
  ../shared/gpu/pack.sh
  cat > .gpu/deno.json <<'JSON'
{
  "imports": {
    "comlink": "npm:comlink@4.4.2",
    "@tensorflow/tfjs-core": "npm:@tensorflow/tfjs-core@4.22.0",
    "@tensorflow/tfjs-layers": "npm:@tensorflow/tfjs-layers@4.22.0"
  }
}
JSON
  rm -rf .gpu/deno_dir
  DENO_DIR=.gpu/deno_dir deno cache --config .gpu/deno.json \
    bench/kernels.ts bench/train.ts bench/workers.ts workers/trainer_worker.ts
  tar -cf - -C .gpu deno_dir | xz -T2 -6 > .gpu/deno_dir.tar.xz
  rm -rf .gpu/deno_dir
  du -sh .gpu
  ;;
run)
  deno=${DENO:-/tmp/deno}
  # NVIDIA's Vulkan manifest names libGLX_nvidia.so.0, whose Vulkan entry
  # point returns nothing without a display server ("Could not get
  # 'vkCreateInstance'"); the same driver through libEGL_nvidia.so.0 works
  # headless.
  if [ -f /usr/share/vulkan/icd.d/nvidia_icd.json ] && [ -z "${VK_DRIVER_FILES_KEEP:-}" ]; then
    printf '{"file_format_version":"1.0.1","ICD":{"library_path":"libEGL_nvidia.so.0","api_version":"1.3.0"}}' \
      > /tmp/nvidia_egl_icd.json
    export VK_DRIVER_FILES=/tmp/nvidia_egl_icd.json DENO_WEBGPU_BACKEND=vulkan
  fi
  export DENO_DIR=/tmp/jumpout_deno_dir
  mkdir -p "$DENO_DIR" && tar -xJf .gpu/deno_dir.tar.xz -C "$DENO_DIR" --strip-components=1
  log=${OUT:-/tmp}/gpu.jsonl
  : > "$log"
  bench() { timeout "$1" "$deno" run -A --cached-only --config .gpu/deno.json "${@:2}" | tee -a "$log"; }
  "$deno" eval 'const i = (await navigator.gpu.requestAdapter())?.info; console.log(JSON.stringify({ adapter: i && { vendor: i.vendor, device: i.device, description: i.description } }))' | tee -a "$log"
  bench 60 bench/kernels.ts --json --backend webgpu
  bench 150 bench/train.ts --json --models mlp,cnn,resnet20 --impls webgpu --no-matmul
  bench 90 bench/workers.ts --json --model resnet20 --backend webgpu --workers 0,1,2 --rounds 3
  ;;
*)
  echo "usage: tools/gpu_check.sh pack|run" >&2
  exit 2
  ;;
esac
