#!/usr/bin/env bash
# Device call after install.sh, STAGE_ONLY=1 peers.sh and QUICK=23 suite.sh (carry [".cuda/d"]): the speculative tests
# on cuda. pack.sh publishes tests/Speculative.Tests as an executable (MSTest's runner: the machine has the .NET runtime,
# not the SDK); they load their models on $CONDENSA_TEST_PROVIDER through the ONNX Runtime build $CONDENSA_ORT_LIBRARY
# names (TestProvider). FILTER picks the tests (default: sampling's law end to end, and the verifiers' distribution
# tests). Output in $OUT/spectests.txt.
set -uo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd); cc=/opt/cc; out=${OUT:?set OUT}; t=/tmp/spectests
[ -f "$cc/app/libonnxruntime_providers_cuda.so" ] || { echo "run install.sh, STAGE_ONLY=1 peers.sh and QUICK=23 suite.sh first"; exit 1; }
rm -rf $t && mkdir -p $t && xz -d -c "$root/.cuda/d/spectests.tar.xz" | tar xf - -C $t
. "$cc/env.sh"
cd $t && CONDENSA_TEST_PROVIDER=${PROVIDER:-cuda} CONDENSA_ORT_LIBRARY=$cc/app/libonnxruntime.so \
  timeout ${TMO:-400} "$cc/rt/dotnet" Condensa.Speculative.Tests.dll \
  --filter "${FILTER:-FullyQualifiedName~SamplingLossless|FullyQualifiedName~ChainVerifier|FullyQualifiedName~TreeVerifier}" 2>&1 | tee "$out/spectests.txt" | tail -30
