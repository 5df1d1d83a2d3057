# Sourced on the GPU machine: the environment of the CLI that pack-webgpu.sh's bundle installs under /opt/cg, and
# condensa_app APP ARGS... to run one of its app folders (/opt/cg/app is this tree's; ab-webgpu.sh adds /opt/cg/app-old).
export DOTNET_ROOT=/opt/cg/rt ORT_REAL_LIBRARY=/opt/cg/libonnxruntime.so.1.30
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
condensa_app() { /opt/cg/rt/dotnet "/opt/cg/$1/condensa.dll" "${@:2}"; }
