#!/usr/bin/env bash
# Packs the condensa CLI for ONNX Runtime's WebGPU provider on the GPU machine, in two parts because one bundle does
# not fit beside the tracked tree under the 64 MiB transfer limit (the demo models take ~40 MB of it):
#   .gpuA/  trimmed .NET runtime + Vulkan/GL loader debs          (first call installs them into /opt/cg)
#   .gpuB/  the app with tools/device/ortshim.c in place of the CPU library + ORT 1.30 (npm, WebGPU built in), and
#           demo-code (models/ stays behind during device calls)
# Device calls, the second within the machine's 30 s warm window:
#   carry [".gpuA"]: for f in .gpuA/*.deb; do dpkg -x $f /; done; ldconfig; mkdir -p /opt/cg/rt && tar xJf .gpuA/runtime.tar.xz -C /opt/cg/rt
#   carry [".gpuB"]: bash .gpuB/run.sh generate -m .gpuB/demo-code --prompt "..." --provider webgpu --json
#                    (or bash tools/device/webgpu-check.sh: greedy parity with the CPU)
set -euo pipefail
top=$(git rev-parse --show-toplevel); cd "$top"
for d in .gpuA .gpuB; do grep -qxF "/$d/" .git/info/exclude 2>/dev/null || echo "/$d/" >> .git/info/exclude; rm -rf "$d"; mkdir -p "$d"; done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# A: the runtime (same trimming as pack-cpu-bench.sh) and the loaders the NVIDIA Vulkan driver needs.
tools/device/pack-cpu-bench.sh >/dev/null && cp .devbench/runtime.tar.xz .gpuA/
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists='"$work"'/lists'
mkdir -p "$work/lists/partial"; apt-get $o update >/dev/null
(cd .gpuA && apt-get $o download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 >/dev/null 2>&1)

# B: the app with the shim, and the WebGPU-enabled ONNX Runtime from the npm registry.
dotnet publish src/Cli -c Release -r linux-x64 --self-contained false -o "$work/app" >/dev/null
ver=$(grep -oP '"Microsoft.ML.OnnxRuntime" Version="\K[0-9.]+' Directory.Packages.props)
inc=~/.nuget/packages/microsoft.ml.onnxruntime/$ver/build/native/include
rm -f "$work/app/libonnxruntime.so" "$work/app/libonnxruntime_providers_shared.so"
gcc -O2 -shared -fPIC -I "$inc" tools/device/ortshim.c -o "$work/app/libonnxruntime.so" -ldl
cp -r models/demo-code .gpuB/
tar cf - -C "$work/app" . | xz -T0 -9e > .gpuB/app.tar.xz
(cd "$work" && npm pack onnxruntime-node@1.30.0 >/dev/null 2>&1 && tar xzf onnxruntime-node-1.30.0.tgz)
xz -T0 -9e -c "$work/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" > .gpuB/libonnxruntime.so.1.30.xz
cat > .gpuB/run.sh <<'RUN'
#!/usr/bin/env bash
# Device side (second call): unpack the app and the WebGPU ONNX Runtime beside the runtime the first call installed.
set -euo pipefail
b=$(cd "$(dirname "$0")" && pwd)
if [ ! -f /opt/cg/app/condensa.dll ]; then
  mkdir -p /opt/cg/app && tar xJf "$b/app.tar.xz" -C /opt/cg/app
  xz -d -c "$b/libonnxruntime.so.1.30.xz" > /opt/cg/libonnxruntime.so.1.30
fi
. "$b/../tools/device/webgpu-env.sh"
condensa_app app "$@"
RUN
du -ch .gpuA .gpuB | tail -1
