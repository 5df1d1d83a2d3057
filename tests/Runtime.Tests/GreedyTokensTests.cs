using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using Condensa.Export;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

/// <summary>
/// <see cref="DecoderModel.ForwardGreedy"/>: the graph's greedy_tokens (ArgMax where the logits are) give exactly the argmax
/// of <see cref="DecoderModel.Forward(KvCache, in ForwardInputs)"/>'s logits, on both graphs, ragged rows and every
/// selected position; an export without that output gets the same tokens from an argmax on the host.
/// </summary>
[TestClass]
public sealed class GreedyTokensTests
{
    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void ForwardGreedy_RaggedBatch_EqualsArgmaxOfForwardLogits(bool fusedAttention)
    {
        using var model = DecoderModel.Load(TinyModels.Get("qwen2").Export, new SessionSettings { FusedAttention = fusedAttention });
        Assert.IsTrue(model.Manifest.HasGreedyTokens, "a fresh export has greedy_tokens");
        AssertGreedyEqualsArgmax(model);
    }

    [TestMethod]
    public void ForwardGreedy_ExportWithoutGreedyOutput_TakesTheArgmaxOnTheHost()
    {
        var export = CopyWithExporterVersion(TinyModels.Get("llama").Export, 6);
        try
        {
            using var model = DecoderModel.Load(export);
            Assert.IsFalse(model.Manifest.HasGreedyTokens);
            AssertGreedyEqualsArgmax(model);
        }
        finally
        {
            Directory.Delete(export, recursive: true);
        }
    }

    [TestMethod]
    public void ForwardGreedy_UseSequentialChunk_EqualsArgmaxOfForwardLogits()
    {
        var spec = new TinyModelSpec
        {
            Architecture = "lckv", LayerTypes = "0_3_3_3_4", NumLayers = 5, ForwardPasses = 3, BackwardPasses = 1, Seed = 37,
            MaxPositionEmbeddings = 64, UseSequential = true,
        };
        using var model = DecoderModel.Load(TinyExports.Get("greedy-lckv-sequential", spec).Export);
        Assert.IsTrue(model.Manifest.UseSequential);
        var tokens = TinyModels.Ids(2 * 6, seed: 8);
        using var a = model.CreateCache(2);
        using var b = model.CreateCache(2);
        var expected = Argmax(model.Forward(a, tokens, [6, 4], LogitsSelection.All), model.Manifest.VocabSize);
        CollectionAssert.AreEqual(expected, model.ForwardGreedy(b, new ForwardInputs(tokens, [6, 4], LogitsSelection.All)).ToArray());
    }

    // Two caches in lockstep, one read through the logits, one through the greedy tokens: a ragged prefill with every
    // position's tokens, then decode steps with an idle row.
    private static void AssertGreedyEqualsArgmax(DecoderModel model)
    {
        var vocab = model.Manifest.VocabSize;
        using var byLogits = model.CreateCache(3, new KvCacheOptions { GrowthChunk = 4 });
        using var byGreedy = model.CreateCache(3, new KvCacheOptions { GrowthChunk = 4 });
        var prompt = TinyModels.Ids(3 * 5, seed: 21);
        int[] counts = [5, 2, 4];
        var expected = Argmax(model.Forward(byLogits, prompt, counts, LogitsSelection.All), vocab);
        CollectionAssert.AreEqual(expected, model.ForwardGreedy(byGreedy, new ForwardInputs(prompt, counts, LogitsSelection.All)).ToArray(), "prefill");
        for (var step = 0; step < 6; step++)
        {
            int[] next = [30 + step, 40 + step, 50 + step];
            int[] active = [1, step % 2, 1];
            expected = Argmax(model.Forward(byLogits, next, active, LogitsSelection.LastPerRow), vocab);
            var actual = model.ForwardGreedy(byGreedy, new ForwardInputs(next, active, LogitsSelection.LastPerRow)).ToArray();
            for (var r = 0; r < 3; r++)
                if (active[r] == 1) Assert.AreEqual(expected[r], actual[r], $"step {step}, row {r}");
        }
        CollectionAssert.AreEqual(byLogits.Lengths.ToArray(), byGreedy.Lengths.ToArray());
    }

    private static int[] Argmax(ReadOnlySpan<float> logits, int vocab)
    {
        var tokens = new int[logits.Length / vocab];
        for (var i = 0; i < tokens.Length; i++) tokens[i] = TensorPrimitives.IndexOfMax(logits.Slice(i * vocab, vocab));
        return tokens;
    }

    // A copy of an export whose condensa.json claims an older exporter: the runtime then binds no greedy_tokens output.
    private static string CopyWithExporterVersion(string export, int version)
    {
        var copy = Path.Combine(Path.GetTempPath(), $"condensa-greedy-{Guid.NewGuid():N}");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(export)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var manifestPath = Path.Combine(copy, ModelManifest.FileName);
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        json["exporter_version"] = version;
        File.WriteAllText(manifestPath, json.ToJsonString());
        return copy;
    }
}
