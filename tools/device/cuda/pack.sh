#!/usr/bin/env bash
# Packs condensa on ONNX Runtime's CUDA provider for the H200 machine (no .NET, no network there) into four carries
# under .cuda/ (git-ignored), each under the device call's 64 MiB beside the project tree:
#   .cuda/a  the trimmed .NET runtime, the app (and BASE's app for an A/B), the first part of the CUDA provider  ~53 MB
#   .cuda/b  the rest of the CUDA provider, libonnxruntime.so, demo-code and demo-code-draft                     ~56 MB
#   .cuda/c  llama.cpp's CUDA build (npm @node-llama-cpp/linux-x64-cuda 3.22.1), two benchmarks and speculative-simple, and
#            libonnxruntime.so and demo-code-lckv (peers.sh puts them where suite.sh finds them)                  ~53 MB
#   .cuda/d  the speculative tests as an executable (spectests.sh runs them on cuda after suite.sh's install)
# The CUDA provider is 289 MB; fatprune.py keeps only its sm_90 cubins (58 MB as xz). Its CUDA 13 libraries (cudart,
# cuBLAS/cuBLASLt, cuRAND, cuFFT, cuDNN 9) are already on the machine. llama.cpp's npm build has sm_90 code only as
# PTX ISA 9.1, which the machine's CUDA 13.0 driver refuses: ptxdown.py relabels it 9.0 (the same kernels).
# The project tree travels with every call and models/ alone is 57 MB: move models/ out of the checkout for the calls
# (demo-code travels in .cuda/b) and back afterwards (tools/device/cuda/tree.sh slim / restore). The provider's split leaves each carry room for the rest of the tree
# (~10 MB with the results; round 12 split it at 36.5 MB and had to move tests/TestData out as well).
# Device calls, back to back (a machine stays warm 30 s after a call; /opt persists while it is warm):
#   carry [".cuda/a"]: bash tools/device/cuda/install.sh      unpack, environment report, background exports and GGUFs
#   carry [".cuda/c"]: bash tools/device/cuda/peers.sh        llama.cpp CUDA and transformers on the same shape
#   carry [".cuda/b"]: bash tools/device/cuda/suite.sh        greedy parity, condensa benches, profile (QUICK=23: the install alone)
#   carry [".cuda/d"]: bash tools/device/cuda/spectests.sh    the speculative tests on cuda (sampling's law, the verifiers)
# usage: tools/device/cuda/pack.sh [BASE_COMMIT]    (work files in /tmp/cudapack; the runtime, ONNX Runtime and llama.cpp
# parts are reused when present; llama.cpp's source: tools/bench/llamacpp/README.md steps 1-2 into /tmp/llamapeer, run
# here when it is missing)
set -euo pipefail
root=$(git rev-parse --show-toplevel); here=$root/tools/device/cuda; w=/tmp/cudapack; out=$root/.cuda
ver=$(grep -oP '"Microsoft.ML.OnnxRuntime.Gpu" Version="\K[0-9.]+' "$root/Directory.Packages.props")
nat=~/.nuget/packages/microsoft.ml.onnxruntime.gpu.linux/$ver/runtimes/linux-x64/native
mkdir -p "$w" "$out"/{a,b,c,d}
grep -qx '/.cuda/' "$root/.git/info/exclude" 2>/dev/null || echo '/.cuda/' >> "$root/.git/info/exclude"

# 1. The app of a source tree, published for linux-x64 against the CUDA package, without ONNX Runtime's native files
#    (they travel apart, pruned).
publish() {   # publish SOURCE_DIR OUT.tar.xz
  rm -rf "$w/pub" && dotnet publish "$1/src/Cli" -c Release -r linux-x64 --self-contained false -p:OrtPackage=Gpu -o "$w/pub" >/dev/null
  rm -f "$w"/pub/libonnxruntime*.so "$w"/pub/onnxruntime*.dll "$w"/pub/onnxruntime*.lib
  # The trimmed runtime below carries Microsoft.NETCore.App alone (ASP.NET Core's 27 MB would not fit the carry): the app's
  # runtimeconfig drops the framework `serve` needs, which no device call runs.
  python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); o=c['runtimeOptions']; o['frameworks']=[f for f in o['frameworks'] if f['name']!='Microsoft.AspNetCore.App']; json.dump(c,open(p,'w'),indent=2)" "$w/pub/condensa.runtimeconfig.json"
  # The app's version names HEAD's commit even when the tree had changes: PACKED_FROM says which (install.sh prints it).
  { git -C "$1" describe --always --dirty --abbrev=12; git -C "$1" status --short -- src export; } > "$w/pub/PACKED_FROM"
  tar cf - -C "$w/pub" . | xz -T0 -9 > "$2"
}
publish "$root" "$out/a/app.tar.xz"
if [ -n "${1:-}" ]; then
  rm -rf /tmp/cuda-base && git -C "$root" worktree add -f --detach /tmp/cuda-base "$1" >/dev/null
  sed -i "s/\"Microsoft.ML.OnnxRuntime\(.Gpu\)\?\" Version=\"[0-9.]*\"/\"Microsoft.ML.OnnxRuntime\1\" Version=\"$ver\"/" /tmp/cuda-base/Directory.Packages.props
  publish /tmp/cuda-base "$out/a/base.tar.xz"; echo "$1" > "$out/a/base.commit"
  git -C "$root" worktree remove --force /tmp/cuda-base
fi

# 2. The .NET runtime, trimmed of what the CLI never loads. System.Net.Sockets stays: on Linux a child process's redirected
#    output goes through System.IO.Pipes, which needs it (bench's process rotation over several models).
#    (Remove $w/runtime.tar.xz to rebuild it.)
if [ ! -f "$w/runtime.tar.xz" ]; then
  dn=$(dirname "$(readlink -f "$(command -v dotnet)")"); fx=$(ls -d "$dn"/shared/Microsoft.NETCore.App/* | sort -V | tail -1)
  rm -rf "$w/rt"; mkdir -p "$w/rt/shared/Microsoft.NETCore.App"; cp -r "$dn/dotnet" "$dn/host" "$w/rt/"; cp -r "$fx" "$w/rt/shared/Microsoft.NETCore.App/"
  (cd "$w/rt/shared/Microsoft.NETCore.App/$(basename "$fx")" && rm -f System.Data*.dll System.Private.DataContractSerialization.dll \
    System.Runtime.Serialization*.dll System.Net.Http.dll System.Net.Security.dll System.Net.Quic.dll System.Net.Mail.dll \
    System.Net.HttpListener.dll System.Net.WebSockets*.dll System.Net.Requests.dll \
    Microsoft.VisualBasic*.dll Microsoft.CSharp.dll System.Linq.Parallel.dll System.ServiceModel.Web.dll libmscordaccore.so \
    libmscordbi.so libclrgc.so libclrgcexp.so libcoreclrtraceptprovider.so)
  tar cf - -C "$w/rt" . | xz -T0 -9e > "$w/runtime.tar.xz"
fi

# 3. ONNX Runtime's native files: libonnxruntime.so as is, the CUDA provider pruned to sm_90.
[ -f "$w/ort_main.so.xz" ] || xz -T0 -9e -c "$nat/libonnxruntime.so" > "$w/ort_main.so.xz"
if [ ! -f "$w/ort_cuda90.so.xz" ]; then
  python3 "$here/fatprune.py" "$nat/libonnxruntime_providers_cuda.so" "$w/ort_cuda90.so" --elf 90
  xz -T0 -9 -c "$w/ort_cuda90.so" > "$w/ort_cuda90.so.xz"
fi

# 4. llama.cpp's CUDA build with its PTX relabelled, and llama-bench / llama-batched-bench / llama-speculative-simple
#    compiled from the source node-llama-cpp bundles.
if [ ! -f "$w/lc.tar.xz" ]; then
  (mkdir -p /tmp/lcc && cd /tmp/lcc && [ -d package ] || { npm pack @node-llama-cpp/linux-x64-cuda@3.22.1 >/dev/null 2>&1 && tar xzf node-llama-cpp-linux-x64-cuda-3.22.1.tgz; })
  bins=/tmp/lcc/package/bins/linux-x64-cuda; src=/tmp/llamapeer/llama-bench/src; rm -rf "$w/lc"; mkdir -p "$w/lc"
  if [ ! -d "$src" ]; then   # tools/bench/llamacpp/README.md, steps 1-2
    mkdir -p /tmp/llamapeer && cp "$root"/tools/bench/llamacpp/package*.json /tmp/llamapeer/
    (cd /tmp/llamapeer && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional >/dev/null 2>&1)
    "$root/tools/bench/llamacpp/build-llama-bench.sh" /tmp/llamapeer >/dev/null
  fi
  cp "$bins"/{libggml.cuda.v0.5.0.so,libggml-base.so,libllama.cuda.v0.5.0.so,libllama-common.so} "$bins"/libggml-cpu-{x64,haswell,skylakex,icelake,sapphirerapids,zen4}.so "$w/lc/"
  python3 "$here/ptxdown.py" "$bins/libggml-cuda.so" "$w/lc/libggml-cuda.so" --arch 90 --isa 9.0   # ~3 min
  for tool in llama-bench:tools/llama-bench llama-batched-bench:tools/batched-bench llama-speculative-simple:examples/speculative-simple; do
    g++ -O2 -DNDEBUG -std=c++17 -I "$src/include" -I "$src/common" -I "$src/ggml/include" -I "$src/vendor" "$src/${tool#*:}"/*.cpp \
      -o "$w/lc/${tool%%:*}" -L"$w/lc" -l:libllama-common.so -l:libllama.cuda.v0.5.0.so -l:libggml.cuda.v0.5.0.so -l:libggml-base.so \
      -Wl,-rpath,'$ORIGIN' -pthread
  done
  tar cf - -C "$w/lc" . | xz -T0 -9 > "$w/lc.tar.xz"
fi

# 5. The carries.
split=33000000
head -c $split "$w/ort_cuda90.so.xz" > "$out/a/ort_cuda.xz.1"; tail -c +$((split + 1)) "$w/ort_cuda90.so.xz" > "$out/b/ort_cuda.xz.2"
cp "$w/runtime.tar.xz" "$out/a/"; cp "$root/tools/bench/llamacpp/make_gguf.py" "$out/a/"
# demo-code-lckv travels in .cuda/c (peers.sh leaves it in /opt/cc for suite.sh): with it, .cuda/b and the tree passed 64 MiB
rm -rf "$out/b/demo-code" "$out/b/demo-code-draft" "$out/b/demo-code-lckv" "$out/c/demo-code-lckv"
cp -r "$root/models/demo-code" "$root/models/demo-code-draft" "$out/b/" && cp -r "$root/models/demo-code-lckv" "$out/c/"
cp "$w/lc.tar.xz" "$w/ort_main.so.xz" "$nat/libonnxruntime_providers_shared.so" "$out/c/"
# libonnxruntime.so travels in .cuda/b too, so install.sh and suite.sh are a session's whole setup when no peer runs (round
# 28 lost a call to a suite.sh without it: peers.sh had not staged it)
cp "$w/ort_main.so.xz" "$nat/libonnxruntime_providers_shared.so" "$out/b/"
# 6. The speculative tests as an executable (MSTest's runner, -p:TestRunner=true: no SDK on the machine), without ONNX
#    Runtime's native files: spectests.sh runs them on cuda through the build suite.sh installed.
rm -rf "$w/spectests" && dotnet publish "$root/tests/Speculative.Tests" -c Release -p:TestRunner=true -o "$w/spectests" >/dev/null
rm -rf "$w/spectests/runtimes"; mkdir -p "$out/d"; tar cf - -C "$w/spectests" . | xz -T0 -9 > "$out/d/spectests.tar.xz"
du -ch "$out"/a | tail -1; du -ch "$out"/b | tail -1; du -ch "$out"/c | tail -1; du -ch "$out"/d | tail -1
