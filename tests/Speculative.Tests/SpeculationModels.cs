namespace Condensa.Speculative.Tests;

/// <summary>The tiny random target and its smaller draft that the chain and tree tests share (the same exports).</summary>
internal static class SpeculationModels
{
    public static readonly TinyModelSpec TargetSpec = new() { Architecture = "llama", NumLayers = 3, Seed = 101 };
    public static readonly TinyModelSpec DraftSpec = new() { Architecture = "llama", NumLayers = 1, HiddenSize = 32, NumHeads = 2, NumKvHeads = 1, Seed = 102 };
}
