#!/usr/bin/env bash
# The GPU check: at most 5 minutes on one NVIDIA GPU (each step has its own limit,
# 80+50+50+15+45+60 s), figures printed:
#   1. CUDA parity with fixture_nano_perturbed and _odd (logits 1e-3, boxes 1e-4, every level);
#   2. `vidt bench model` on cuda at 320x320 and 800x1216, on wgpu (Vulkan) at 320x320, 640x640
#      and 800x1216 (with the launch count: what a frame dispatches), and on wgpu at 320x320
#      again with CUBECL_WGPU_MAX_TASKS=256 (cubecl submits every 32 launches by default, a
#      new compute pass each time: does grouping more per submit pay on a real GPU? #34), and
#      on wgpu in f16 (--precision f16: the adapter's shaderFloat16) at the three sizes; each
#      size's frames per second (`kernels_fps`) beside its milliseconds;
#   3. `vidt bench train --device cuda --preset nano` (replicas 1, and 2 when there are 2 GPUs).
# Runs prebuilt x86-64 binaries from gpu-check/ (scripts/build-gpu-check.sh makes them on any
# Linux machine): the GPU machine needs no Rust toolchain and no network. It looks for the
# CUDA libraries burn's CUDA backend loads at run time (libcuda from the driver, libnvrtc
# for compiling kernels) before relying on them, and says what it skips and why.
# Output: stdout and, when $OUT is set (the device tool), $OUT/gpu-check.log.
set -uo pipefail
cd "$(dirname "$0")/.."
log="${OUT:-gpu-check}/gpu-check.log"
mkdir -p "$(dirname "$log")"
exec > >(tee "$log") 2>&1
start=$SECONDS
bin=gpu-check
failures=()
say() { echo "== $*"; }
fail() { failures+=("$1"); echo "FAILED: $1"; }

# The binaries come xz-compressed (the device tool's carry limit); unpacked beside /tmp.
commit=$(cat $bin/COMMIT 2>/dev/null || echo '?')
unpacked="${TMPDIR:-/tmp}/vidt-gpu-check"
mkdir -p "$unpacked"
for f in vidt it; do
  if [ -f "$bin/$f.xz" ]; then
    if command -v xz >/dev/null; then xz -dc "$bin/$f.xz" >"$unpacked/$f"
    else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$bin/$f.xz" "$unpacked/$f"
    fi || { echo "cannot unpack $bin/$f.xz (no xz, no python3?)"; exit 2; }
    chmod 755 "$unpacked/$f"
  elif [ -x "$bin/$f" ]; then cp "$bin/$f" "$unpacked/$f"
  else echo "$bin/$f.xz is missing: run scripts/build-gpu-check.sh where Rust is"; exit 2
  fi
done
bin=$unpacked
say "binaries of commit $commit (working tree at $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"

# Fixtures: VIDT_FIXTURES, else shared/ beside the clone or inside it.
for d in "${VIDT_FIXTURES:-}" ../shared/fixtures shared/fixtures; do
  [ -n "$d" ] && [ -f "$d/fixtures.json" ] && { export VIDT_FIXTURES=$(cd "$d" && pwd); break; }
done
[ -n "${VIDT_FIXTURES:-}" ] && [ -f "$VIDT_FIXTURES/fixtures.json" ] || { echo "no fixtures (set VIDT_FIXTURES)"; exit 2; }
weights="$VIDT_FIXTURES/vidt_nano_perturbed.pth"

say "GPUs"
gpus=0
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader || true
  gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
else
  echo "nvidia-smi not found"
fi
echo "NVIDIA GPUs: $gpus"

# A library by soname pattern: the dynamic linker's cache, LD_LIBRARY_PATH, the usual CUDA
# folders and pip's nvidia-* wheels. Prints the first file found.
find_lib() {
  local pat=$1 d f
  f=$(ldconfig -p 2>/dev/null | awk -v p="$pat" '$1 ~ p {print $NF; exit}')
  [ -n "$f" ] && { echo "$f"; return 0; }
  local IFS=:
  for d in ${LD_LIBRARY_PATH:-} /usr/local/cuda/lib64 /usr/local/cuda-*/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
    /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/lib/python3*/*-packages/nvidia/*/lib \
    /usr/lib/python3*/*-packages/nvidia/*/lib "$HOME"/.local/lib/python3*/site-packages/nvidia/*/lib; do
    for f in "$d"/$pat*; do [ -e "$f" ] && { echo "$f"; return 0; }; done
  done
  return 1
}
say "CUDA libraries (loaded at run time by cudarc)"
cuda_ok=1
libcuda=$(find_lib 'libcuda.so') && echo "libcuda:  $libcuda" || { echo "libcuda:  not found (the NVIDIA driver)"; cuda_ok=0; }
libnvrtc=$(find_lib 'libnvrtc.so') && echo "libnvrtc: $libnvrtc" || { echo "libnvrtc: not found (CUDA toolkit or pip nvidia-cuda-nvrtc-cu12): cubecl compiles every kernel with it"; cuda_ok=0; }
libnccl=$(find_lib 'libnccl.so') && echo "libnccl:  $libnccl" || echo "libnccl:  not found (not needed: our data parallel does not use NCCL)"
# A library found outside the linker's cache must be on LD_LIBRARY_PATH for dlopen.
for f in ${libcuda:-} ${libnvrtc:-}; do
  d=$(dirname "$f")
  case ":${LD_LIBRARY_PATH:-}:" in *":$d:"*) ;; *) ldconfig -p | grep -q "$f" || export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}";; esac
done
[ "$gpus" -gt 0 ] || cuda_ok=0

say "Vulkan (wgpu)"
vk_ok=1
find_lib 'libvulkan.so' >/dev/null && echo "libvulkan: $(find_lib 'libvulkan.so')" || { echo "libvulkan: not found"; vk_ok=0; }
icd=$(ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json 2>/dev/null | head -1)
[ -n "$icd" ] && echo "NVIDIA Vulkan ICD: $icd" || { echo "NVIDIA Vulkan ICD: not found (wgpu would run on another adapter, if any)"; vk_ok=0; }

step() { # step NAME SECONDS CMD...: runs with a time limit, reports the outcome
  local name=$1 limit=$2; shift 2
  say "$name (limit ${limit}s)"
  local t0=$SECONDS
  timeout "$limit" "$@"
  local rc=$?
  echo "-- $name: rc $rc in $((SECONDS - t0)) s"
  [ $rc -eq 0 ] || fail "$name (rc $rc)"
}

if [ $cuda_ok = 1 ]; then
  step "CUDA parity (fixture_nano_perturbed, _odd)" 80 \
    "$bin/it" cuda:: --test-threads=1 --nocapture
  step "bench model cuda" 50 \
    "$bin/vidt" bench model --device cuda --weights "$weights" --sizes 320x320,800x1216 --runs 5
else
  fail "CUDA steps skipped (no GPU or no CUDA libraries, above)"
fi
if [ $vk_ok = 1 ]; then
  step "bench model wgpu (Vulkan)" 50 \
    "$bin/vidt" bench model --device wgpu --weights "$weights" --sizes 320x320,640x640,800x1216 --runs 5
  step "bench model wgpu, 256 launches per submit" 15 \
    env CUBECL_WGPU_MAX_TASKS=256 "$bin/vidt" bench model --device wgpu --weights "$weights" --sizes 320x320 --runs 5
  step "bench model wgpu (Vulkan) in f16" 45 \
    "$bin/vidt" bench model --device wgpu --precision f16 --weights "$weights" --sizes 320x320,640x640,800x1216 --runs 5
else
  fail "wgpu on the GPU skipped (no Vulkan loader or NVIDIA ICD, above)"
fi
if [ $cuda_ok = 1 ]; then
  replicas=1
  [ "$gpus" -ge 2 ] && replicas=1,2
  step "bench train cuda nano (replicas $replicas)" 60 \
    "$bin/vidt" bench train --device cuda --preset nano --size 320 --batch-size 2 --steps 5 --replicas $replicas
  [ "$gpus" -ge 2 ] || echo "one GPU: data parallel not timed"
fi

say "done in $((SECONDS - start)) s"
if [ ${#failures[@]} -gt 0 ]; then
  printf 'not passed: %s\n' "${failures[@]}"
  exit 1
fi
echo "all passed"
