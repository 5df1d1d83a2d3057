using Condensa.TestSupport;

namespace Condensa.Export.Tests;

[TestClass]
public sealed class LckvExportTests
{
    private const double Tolerance = 1e-4;

    private static TinyModelSpec Spec(string layerTypes, bool forceNodiag = true, int window = 4096, int forward = 3, int backward = 1) => new()
    {
        Architecture = "lckv", LayerTypes = layerTypes, NumLayers = layerTypes.Split('_').Length, ForceNodiag = forceNodiag,
        LckvSlidingWindow = window, ForwardPasses = forward, BackwardPasses = backward, Seed = 21,
    };

    [TestMethod]
    public void Export_Lckv_GraphCarriesKvOfStoredLayersAndPendingOfTargets()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), Spec("0_3_3_3_4"));
        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());
        using var runner = new OnnxGraphRunner(result.ModelPath);

        string[] expectedInputs = [GraphNames.InputIds, GraphNames.PositionIds, GraphNames.AttentionSpan, GraphNames.AttentionNew,
            GraphNames.LogitsIndex, GraphNames.KvWriteIndex, "past.0.key", "past.0.value", "past.3.key", "past.3.value", "past.4.key", "past.4.value", "pending.3.key", "pending.3.value"];
        CollectionAssert.AreEquivalent(expectedInputs, runner.InputNames.ToArray());
        CollectionAssert.AreEquivalent(new[] { GraphNames.Logits, GraphNames.GreedyTokens, "new.0.key", "new.0.value", "new.3.key", "new.3.value", "new.4.key", "new.4.value",
            "present.0.key", "present.0.value", "present.3.key", "present.3.value", "present.4.key", "present.4.value" },
            runner.OutputNames.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 3, 4 }, result.Manifest.KvLayers.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 3, 3, 3, 4 }, result.Manifest.LayerKvSource.ToArray());
        Assert.AreEqual(3, result.Manifest.ForwardPasses);
        Assert.AreEqual(1, result.Manifest.BackwardPasses);
        Assert.IsTrue(result.Manifest.ForceNodiag);
        Assert.IsNull(result.Manifest.LayerSlidingWindow);
        Assert.IsNull(result.Manifest.SlidingWindow);
    }

    [TestMethod]
    [DataRow("0_3_3_3_4", true, 4096)]     // w2-style sandwich, force_nodiag
    [DataRow("0_3_3_3_4", false, 4096)]    // only the attends-top layers lose the diagonal
    [DataRow("0_0_2_2", true, 4096)]       // CLA: no pending input at all
    [DataRow("0s_2_2s_3s", true, 3)]       // sliding layers, window 3 in the graph
    [DataRow("0_2_2_3_5_5", true, 4096)]   // two cyclic blocks
    public void Export_Lckv_SequentialDecodeThroughGraphMatchesReference(string layerTypes, bool forceNodiag, int window)
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), Spec(layerTypes, forceNodiag, window));
        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());
        var reference = new LckvReferenceModel(tmp.Sub("ckpt"));
        using var runner = new OnnxGraphRunner(result.ModelPath);
        var stepper = new LckvGraphStepper(runner, reference.Config, capacity: 12);
        int[] ids = [1, 17, 250, 3, 99, 42, 7, 300, 128, 64];

        var expected = reference.Sequential(ids);
        for (int p = 0; p < ids.Length; p++)
        {
            var logits = stepper.Pass([ids[p]], commit: true, pending: null)[0];
            double error = DecoderHarness.RelativeError([logits], [expected[p]]);
            Assert.IsLessThan(Tolerance, error, $"{layerTypes}: position {p}, relative error {error:E2}");
        }
        Assert.IsGreaterThanOrEqualTo(3, expected.Select(DecoderHarness.ArgMax).Distinct().Count());
    }

    [TestMethod]
    [DataRow("0_3_3_3_4")]
    [DataRow("0s_2_2s_3s")]
    public void Export_Lckv_IteratedPassesMatchReferencePrefill(string layerTypes)
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), Spec(layerTypes, window: 3));
        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());
        var reference = new LckvReferenceModel(tmp.Sub("ckpt"));
        using var runner = new OnnxGraphRunner(result.ModelPath);
        var stepper = new LckvGraphStepper(runner, reference.Config, capacity: 4);
        int[] ids = [1, 17, 250, 3, 99, 42, 7, 300];   // 8 tokens > R = 4 passes

        // pass 1 from zeros, each later pass reads the previous pass's new KV of the targets
        Dictionary<int, (float[] K, float[] V)>? pending = null;
        float[][] logits = [];
        for (int r = 0; r < 4; r++)
            (logits, pending) = (stepper.Pass(ids, commit: false, pending, out var fresh), fresh);

        var expected = reference.Iterative(ids);
        double error = DecoderHarness.RelativeError(logits, expected);
        Assert.IsLessThan(Tolerance, error, $"{layerTypes}: relative error {error:E2}");
        // the approximation is real: with fewer passes the late positions differ from sequential decoding
        Assert.IsGreaterThan(1e-3, DecoderHarness.RelativeError(logits, reference.Sequential(ids)));
    }
}
