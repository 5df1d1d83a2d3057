// Usage: dotnet run --project tools/bench/RandomCheckpoints -- OUT_DIR
// Writes OUT_DIR/bench-llama and OUT_DIR/bench-lckv: random weights (N(0, 1/fan_in)), identical dimensions;
// the LCKV one stores KV in layers 0, 6 and 7 only (demo-code-lckv's layer_types), fp16 like the demo models;
// bench-lckv-sliding is bench-lckv with a 1024-token window in layers 0..5 (what the in-graph window costs).
using Condensa.Export;
using Condensa.TestSupport;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: RandomCheckpoints OUT_DIR");
    return 2;
}
var llama = new TinyModelSpec
{
    Architecture = "llama", VocabSize = 4096, HiddenSize = 512, IntermediateSize = 1408, NumLayers = 8, NumHeads = 8,
    NumKvHeads = 4, HeadDim = 64, MaxPositionEmbeddings = 4096, Dtype = SafeTensorDtype.F16, Seed = 1,
};
var lckv = llama with { Architecture = "lckv", LayerTypes = "0_6_6_6_6_6_6_7", ForceNodiag = true, ForwardPasses = 7, BackwardPasses = 2 };
TinyCheckpoint.Write(Path.Combine(args[0], "bench-llama"), llama);
TinyCheckpoint.Write(Path.Combine(args[0], "bench-lckv"), lckv);
TinyCheckpoint.Write(Path.Combine(args[0], "bench-lckv-sliding"), lckv with { LayerTypes = "0s_6s_6s_6s_6s_6s_6_7", LckvSlidingWindow = 1024 });
Console.WriteLine($"wrote bench-llama, bench-lckv and bench-lckv-sliding under {args[0]}");
return 0;
