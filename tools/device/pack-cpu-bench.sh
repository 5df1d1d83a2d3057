#!/usr/bin/env bash
# Packs the condensa CLI (framework-dependent, CPU ONNX Runtime) and a trimmed .NET runtime into .devbench/, small
# enough to travel to the GPU machine beside the tracked tree (its 64 MiB limit holds ~43 MB of tracked files, the
# demo models most of it). There the host's idle CPU cores give quiet timings; the development VM shares 2 cores.
#   usage: tools/device/pack-cpu-bench.sh        then carry .devbench and run: bash .devbench/run.sh <condensa args>
set -euo pipefail
top=$(git rev-parse --show-toplevel); cd "$top"
out=.devbench; rm -rf "$out"; mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# 1. The app, framework-dependent for linux-x64 (libonnxruntime.so from the NuGet package comes with it).
dotnet publish src/Cli -c Release -r linux-x64 --self-contained false -o "$work/app" >/dev/null
tar cf - -C "$work/app" . | xz -T0 -9e > "$out/app.tar.xz"

# 2. The .NET runtime without what the CLI never loads (data, networking, VB, debugger and GC variants; XML stays for --chart).
root=$(dirname "$(readlink -f "$(command -v dotnet)")")
fx=$(ls -d "$root"/shared/Microsoft.NETCore.App/* | sort -V | tail -1)
mkdir -p "$work/rt/shared/Microsoft.NETCore.App"
cp -r "$root/dotnet" "$root/host" "$work/rt/"
cp -r "$fx" "$work/rt/shared/Microsoft.NETCore.App/"
(cd "$work/rt/shared/Microsoft.NETCore.App/$(basename "$fx")" && rm -f System.Data*.dll \
  System.Private.DataContractSerialization.dll System.Runtime.Serialization*.dll System.Net.Http.dll System.Net.Security.dll \
  System.Net.Quic.dll System.Net.Mail.dll System.Net.HttpListener.dll System.Net.WebSockets*.dll System.Net.Requests.dll \
  System.Net.Primitives.dll System.Net.Sockets.dll System.Net.NameResolution.dll Microsoft.VisualBasic*.dll Microsoft.CSharp.dll \
  System.Linq.Expressions.dll System.Linq.Parallel.dll System.Linq.AsyncEnumerable.dll System.Reflection.Metadata.dll \
  System.Text.Encoding.CodePages.dll System.IO.Compression*.dll libSystem.IO.Compression.Native.so System.ServiceModel.Web.dll \
  System.Diagnostics.DiagnosticSource.dll libmscordaccore.so libmscordbi.so libclrgc.so libclrgcexp.so libcoreclrtraceptprovider.so)
tar cf - -C "$work/rt" . | xz -T0 -9e > "$out/runtime.tar.xz"

cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Device side: unpack once per machine, then run the CLI with the given arguments.
set -euo pipefail
b=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /opt/condensa-cpu/rt/dotnet ]; then
  mkdir -p /opt/condensa-cpu/rt /opt/condensa-cpu/app
  tar xJf "$b/runtime.tar.xz" -C /opt/condensa-cpu/rt && tar xJf "$b/app.tar.xz" -C /opt/condensa-cpu/app
fi
export DOTNET_ROOT=/opt/condensa-cpu/rt DOTNET_CLI_TELEMETRY_OPTOUT=1
exec /opt/condensa-cpu/rt/dotnet /opt/condensa-cpu/app/condensa.dll "$@"
RUN
chmod +x "$out/run.sh"
du -ch "$out"/* | tail -1
