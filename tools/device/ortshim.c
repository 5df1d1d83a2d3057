// Test tooling for the GPU machine only: lets the 1.32 managed binding drive ONNX Runtime 1.30's native build (the npm
// onnxruntime-node build, which has the WebGPU provider). The binding asks for C API version 32; this library answers
// with 1.30's function table, extended by the entries 1.31 and 1.32 added, each of which reports "not implemented"
// (the binding does not call them on the paths Condensa uses). Built by pack-webgpu.sh against the 1.32 header.
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxruntime_c_api.h"

static const OrtApiBase* real_base;
static OrtApi table;
static OrtApiBase base;

// One stub for every newer entry: each returns an OrtStatus*, and on x86-64 the extra arguments are ignored.
static OrtStatus* ORT_API_CALL missing(void) {
  return table.CreateStatus(ORT_NOT_IMPLEMENTED, "not in the ONNX Runtime 1.30 native build");
}
static const OrtModelPackageApi* ORT_API_CALL no_model_package_api(void) { return NULL; }
static const char* ORT_API_CALL version_string(void) { return real_base->GetVersionString(); }

static const OrtApi* ORT_API_CALL get_api(uint32_t version) {
  if (version <= 30) return real_base->GetApi(version);
  if (version > 32) return NULL;
  if (!table.CreateStatus) {
    const OrtApi* v30 = real_base->GetApi(30);
    if (!v30) return NULL;
    size_t known = offsetof(OrtApi, SessionOptionsSetEpContextDataReadFunc);   // the first entry 1.31 added
    memcpy(&table, v30, known);
    void** rest = (void**)((char*)&table + known);
    for (size_t i = 0; i < (sizeof(OrtApi) - known) / sizeof(void*); i++) rest[i] = (void*)missing;
    table.GetModelPackageApi = no_model_package_api;                           // returns a table, not a status
  }
  return &table;
}

const OrtApiBase* ORT_API_CALL OrtGetApiBase(void) NO_EXCEPTION {
  if (!real_base) {
    const char* path = getenv("ORT_REAL_LIBRARY");
    void* library = dlopen(path ? path : "libonnxruntime.so.1.30", RTLD_NOW | RTLD_GLOBAL);
    if (!library) { fprintf(stderr, "ortshim: %s\n", dlerror()); return NULL; }
    const OrtApiBase* (*get_base)(void) = (const OrtApiBase* (*)(void))dlsym(library, "OrtGetApiBase");
    if (!get_base) { fprintf(stderr, "ortshim: no OrtGetApiBase in %s\n", path ? path : "libonnxruntime.so.1.30"); return NULL; }
    real_base = get_base();
    base.GetApi = get_api;
    base.GetVersionString = version_string;
  }
  return &base;
}
