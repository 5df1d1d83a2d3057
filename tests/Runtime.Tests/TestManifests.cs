namespace Condensa.Runtime.Tests;

/// <summary>Manifests for tests that need dimensions but no graph.</summary>
internal static class TestManifests
{
    public static ModelManifest Small(int maxContext = 64, string dtype = "float32") => new()
    {
        Format = 1,
        Architecture = "LlamaForCausalLM",
        DType = dtype,
        VocabSize = 10,
        HiddenSize = 8,
        NumLayers = 2,
        NumHeads = 2,
        NumKvHeads = 1,
        HeadDim = 4,
        MaxContext = maxContext,
        KvLayers = [0, 1],
        LayerKvSource = [0, 1],
    };
}
