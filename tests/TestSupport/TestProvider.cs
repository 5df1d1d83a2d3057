using Condensa.Runtime;
using Condensa.Runtime.ExecutionProviders;

namespace Condensa.TestSupport;

/// <summary>
/// Where tests that may run on a GPU load their models: $CONDENSA_TEST_PROVIDER (cuda on the device machine, with
/// $CONDENSA_ORT_LIBRARY naming ONNX Runtime's GPU build; tools/device/cuda/spectests.sh), else the CPU, as CI runs them.
/// </summary>
public static class TestProvider
{
    /// <summary>The environment variable naming the provider.</summary>
    public const string Variable = "CONDENSA_TEST_PROVIDER";

    /// <summary>The provider's name.</summary>
    public static string Name => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } name ? name : "cpu";

    /// <summary>Session settings on that provider (loading the ONNX Runtime build $CONDENSA_ORT_LIBRARY names, first).</summary>
    public static SessionSettings Settings
    {
        get
        {
            OrtLibrary.Use();
            return new SessionSettings { Providers = [Name] };
        }
    }
}
