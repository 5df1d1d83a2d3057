using Condensa.Runtime.ExecutionProviders;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.Tests;

/// <summary>Provider names, the fallback list, the missing-provider error and the native-library switch, on the CPU build.</summary>
[TestClass]
public sealed class ExecutionProviderTests
{
    [TestMethod]
    public void CudaOptionValues_OwnSettingsWinButTheAttentionKernelsGiveWayToTheVariable()
    {
        var options = new ProviderOptions { DeviceId = 1, GraphCapture = true, AttentionKernels = 16 };
        var values = CudaProvider.OptionValues(options, "device_id=3;enable_cuda_graph=0;tunable_op_enable=1");
        Assert.AreEqual("1", values["device_id"]);
        Assert.AreEqual("1", values["enable_cuda_graph"]);
        Assert.AreEqual("1", values["tunable_op_enable"]);
        Assert.AreEqual("16", values["sdpa_kernel"], "the multi-row causal graph's unfused attention");
        Assert.AreEqual("2", CudaProvider.OptionValues(options, "sdpa_kernel=2")["sdpa_kernel"], "an experiment's choice");
        Assert.IsFalse(CudaProvider.OptionValues(ProviderOptions.Default, null).ContainsKey("sdpa_kernel"), "ONNX Runtime's default elsewhere");
        Assert.IsFalse(CudaProvider.OptionValues(ProviderOptions.Default, "enable_cuda_graph=1").ContainsKey("enable_cuda_graph"));
    }

    [TestMethod]
    public void CudaOptionValues_Float32GemmsRunInFloat32UnlessTheVariableAsksForTf32()
    {
        Assert.AreEqual("0", CudaProvider.OptionValues(ProviderOptions.Default, null)["use_tf32"]);
        Assert.AreEqual("0", CudaProvider.OptionValues(ProviderOptions.Default, "tunable_op_enable=1")["use_tf32"]);
        Assert.AreEqual("1", CudaProvider.OptionValues(ProviderOptions.Default, "use_tf32=1")["use_tf32"], "an experiment's choice");
    }

    [TestMethod]
    public void CudaExtraOptions_ParsesEntriesAndRejectsOneWithoutName()
    {
        var values = CudaProvider.ParseExtraOptions(" tunable_op_enable=1; ;tunable_op_tuning_enable = 1 ;");
        Assert.AreEqual(2, values.Count);
        Assert.AreEqual("1", values["tunable_op_enable"]);
        Assert.AreEqual("1", values["tunable_op_tuning_enable"]);
        Assert.IsEmpty(CudaProvider.ParseExtraOptions(null));
        var error = Assert.ThrowsExactly<CondensaException>(() => CudaProvider.ParseExtraOptions("a=1;=2"));
        StringAssert.Contains(error.Message, CudaProvider.ExtraOptionsVariable);
        StringAssert.Contains(error.Message, "'=2'");
    }

    [TestMethod]
    [DataRow("cpu", "cpu")]
    [DataRow("CUDA", "cuda")]
    [DataRow("gpu", "cuda")]
    [DataRow("dml", "dml")]
    [DataRow("DirectML", "dml")]
    [DataRow(" webgpu ", "webgpu")]
    public void Parse_KnownNameOrAlias_GivesProvider(string name, string expected) =>
        Assert.AreEqual(expected, ExecutionProvider.Parse(name).Name);

    [TestMethod]
    public void Parse_UnknownName_ErrorNamesItAndListsKnownProviders()
    {
        var e = Assert.ThrowsExactly<CondensaException>(() => ExecutionProvider.Parse("tpu"));
        StringAssert.Contains(e.Message, "'tpu'");
        StringAssert.Contains(e.Message, "cpu, cuda, dml, webgpu");
    }

    [TestMethod]
    public void ParseList_CommaSeparated_KeepsOrderAndDropsDuplicates() =>
        CollectionAssert.AreEqual(new[] { "webgpu", "cuda", "cpu" }, ExecutionProvider.ParseList("webgpu, cuda,cpu,webgpu").Select(p => p.Name).ToArray());

    [TestMethod]
    [DataRow("cuda", "Microsoft.ML.OnnxRuntime.Gpu", "-p:OrtPackage=Gpu")]
    [DataRow("dml", "Microsoft.ML.OnnxRuntime.DirectML", "-p:OrtPackage=DirectML")]
    [DataRow("webgpu", "compiled with WebGPU", "onnxruntime-node")]
    public void Load_ProviderNotInBuild_OneErrorNamingProviderAndPackage(string name, string package, string how)
    {
        var provider = ExecutionProvider.Parse(name);
        if (provider.IsAvailable()) Assert.Inconclusive($"the loaded ONNX Runtime build has {name}");
        var (_, export) = TinyModels.Get("llama");

        var e = Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(export, new SessionSettings { Providers = [name] }));
        StringAssert.StartsWith(e.Message, $"provider '{name}' is not in the loaded ONNX Runtime build (CPU only); ");
        StringAssert.Contains(e.Message, package);
        StringAssert.Contains(e.Message, how);
        StringAssert.Contains(e.Message, "--ort-library");
        StringAssert.Contains(e.Message, OrtLibrary.EnvironmentVariable);
        Assert.IsTrue(e.InnerException is EntryPointNotFoundException or OnnxRuntimeException, $"inner: {e.InnerException?.GetType().Name}");
    }

    [TestMethod]
    public void Load_FallbackList_RunsOnTheFirstWorkingProviderAndSaysWhy()
    {
        if (ExecutionProvider.Cuda.IsAvailable() || ExecutionProvider.WebGpu.IsAvailable()) Assert.Inconclusive("a GPU provider is in the build");
        var (_, export) = TinyModels.Get("llama");
        using var cpu = DecoderModel.Load(export);
        using var fallback = DecoderModel.Load(export, new SessionSettings { Providers = ["cuda", "webgpu", "cpu"] });

        Assert.AreSame(ExecutionProvider.Cpu, cpu.Provider);
        Assert.IsEmpty(cpu.SkippedProviders);
        Assert.AreSame(ExecutionProvider.Cpu, fallback.Provider);
        Assert.HasCount(2, fallback.SkippedProviders);
        StringAssert.StartsWith(fallback.SkippedProviders[0], "provider 'cuda' is not in the loaded ONNX Runtime build");
        StringAssert.StartsWith(fallback.SkippedProviders[1], "provider 'webgpu' is not in the loaded ONNX Runtime build");

        // the fallback session computes what a plain CPU session computes
        var ids = TinyModels.Ids(6, 3);
        using var a = cpu.CreateCache(1);
        using var b = fallback.CreateCache(1);
        var expected = cpu.Forward(a, ids, [ids.Length], LogitsSelection.LastPerRow).ToArray();
        var actual = fallback.Forward(b, ids, [ids.Length], LogitsSelection.LastPerRow).ToArray();
        CollectionAssert.AreEqual(expected, actual);
    }

    [TestMethod]
    public void Load_NoListedProviderWorks_ErrorListsEachReason()
    {
        if (ExecutionProvider.Cuda.IsAvailable() || ExecutionProvider.DirectML.IsAvailable()) Assert.Inconclusive("a GPU provider is in the build");
        var (_, export) = TinyModels.Get("llama");

        var e = Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(export, new SessionSettings { Providers = ["cuda", "dml"] }));
        StringAssert.StartsWith(e.Message, "no execution provider could be used: provider 'cuda' is not in");
        StringAssert.Contains(e.Message, "; provider 'dml' is not in");
    }

    [TestMethod]
    public void Load_EmptyOrUnknownProviderList_ClearError()
    {
        var (_, export) = TinyModels.Get("llama");
        StringAssert.Contains(Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(export, new SessionSettings { Providers = [] })).Message,
            "Providers is empty");
        StringAssert.Contains(Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(export, new SessionSettings { Providers = ["cpu", "npu"] })).Message,
            "Unknown execution provider 'npu'");
    }

    [TestMethod]
    [DataRow("dml", 1L << 30, false, "has no memory limit")]
    [DataRow("webgpu", 1L << 30, false, "has no memory limit")]
    [DataRow("dml", null, true, "does not support graph capture")]
    [DataRow("cuda", -5L, false, "must be positive")]
    public void Load_OptionTheProviderCannotHonour_FailsWithoutFallingBack(string name, long? limit, bool capture, string expected)
    {
        var (_, export) = TinyModels.Get("llama");
        var settings = new SessionSettings
        {
            Providers = [name, "cpu"],
            ProviderOptions = new ProviderOptions { MemoryLimitBytes = limit, GraphCapture = capture },
        };
        var e = Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(export, settings));
        StringAssert.Contains(e.Message, $"'{name}'");
        StringAssert.Contains(e.Message, expected);
    }

    [TestMethod]
    [DataRow("/opt/ort/libonnxruntime_providers_cuda.so: Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory",
        "libcublasLt.so.13")]
    [DataRow("LoadLibrary failed with error 126 \"\" when trying to load \"C:\\app\\onnxruntime_providers_cuda.dll\"",
        "a library that onnxruntime_providers_cuda.dll depends on")]
    public void UnavailableMessage_MissingCudaLibrary_NamesItAndWhatToInstall(string detail, string library)
    {
        var message = ExecutionProvider.Cuda.UnavailableMessage(detail);
        StringAssert.StartsWith(message, $"provider 'cuda' could not start: {library} could not be loaded; install the CUDA 13 runtime");
        StringAssert.Contains(message, "cuDNN 9");
        Assert.IsFalse(message.Contains("is not in the loaded ONNX Runtime build"), message);
    }

    [TestMethod]
    [DataRow("libonnxruntime_providers_cuda.so: cannot open shared object file: No such file or directory")]
    [DataRow("CUDA execution provider is not enabled in this build.")]
    public void UnavailableMessage_ProviderItselfMissing_SaysTheBuildLacksIt(string detail) =>
        StringAssert.Contains(ExecutionProvider.Cuda.UnavailableMessage(detail), "is not in the loaded ONNX Runtime build");

    [TestMethod]
    public void Load_CpuWithDeviceOptions_IgnoresThem()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export, new SessionSettings { ProviderOptions = new ProviderOptions { DeviceId = 3, MemoryLimitBytes = 1 << 20, GraphCapture = true } });
        Assert.AreSame(ExecutionProvider.Cpu, model.Provider);
    }

    [TestMethod]
    [DataRow("cpu", null)]
    [DataRow("cuda", "Cuda")]
    [DataRow("dml", "DML")]
    [DataRow("webgpu", "WebGPU_Buffer")]
    public void DeviceMemoryName_PerProvider_IsTheOrtAllocatorName(string name, string? memory)
    {
        var provider = ExecutionProvider.Parse(name);
        Assert.AreEqual(memory, provider.DeviceMemoryName);
        Assert.AreEqual(memory is not null, provider.HasDeviceMemory);
    }

    [TestMethod]
    public void CreateMemoryInfo_Cpu_IsTheDefaultHostMemory() =>
        Assert.AreSame(OrtMemoryInfo.DefaultInstance, ExecutionProvider.Cpu.CreateMemoryInfo());

    [TestMethod]
    public void OrtLibrary_MissingFileOrAnotherBuildAfterLoading_ClearErrors_SameBuild_Accepted()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-onnxruntime-{Guid.NewGuid():N}.so");
        var e = Assert.ThrowsExactly<CondensaException>(() => OrtLibrary.Use(missing));
        StringAssert.StartsWith(e.Message, $"{missing}: ONNX Runtime library not found");

        _ = OrtEnv.Instance();   // ONNX Runtime is loaded now: the choice is made
        var loaded = OrtLibrary.LoadedFrom();
        Assert.IsNotNull(loaded, "the native library shows among the process's modules");
        var copy = Path.Combine(Directory.CreateTempSubdirectory("condensa-ort-").FullName, Path.GetFileName(loaded));
        File.Copy(loaded, copy);
        e = Assert.ThrowsExactly<CondensaException>(() => OrtLibrary.Use(copy));
        StringAssert.Contains(e.Message, "already");
        StringAssert.Contains(e.Message, copy);

        Assert.AreEqual(Path.GetFullPath(loaded), OrtLibrary.Use(loaded), "asking for the build already loaded is fine");
    }
}
