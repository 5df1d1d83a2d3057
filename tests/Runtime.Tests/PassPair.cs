namespace Condensa.Runtime.Tests;

/// <summary>Two models over their own caches, given the same passes: the first's logits (the general graph's) are the
/// reference for the second's.</summary>
internal sealed class PassPair(DecoderModel expectedModel, KvCache expectedCache, DecoderModel actualModel, KvCache actualCache, float tolerance)
{
    public void AssertSame(int[] tokens, int[] counts, string what) =>
        AssertSame(new ForwardInputs(tokens, counts, LogitsSelection.All), what);

    public void AssertSame(ForwardInputs inputs, string what)
    {
        var vocab = expectedModel.Manifest.VocabSize;
        var seqLen = inputs.Tokens.Length / inputs.Counts.Length;
        var expected = expectedModel.Forward(expectedCache, inputs).ToArray();
        var actual = actualModel.Forward(actualCache, inputs).ToArray();
        for (var b = 0; b < inputs.Counts.Length; b++)
        for (var j = 0; j < inputs.Counts[b]; j++)   // padding positions' logits mean nothing
        for (var v = 0; v < vocab; v++)
        {
            var i = (b * seqLen + j) * vocab + v;
            Assert.AreEqual(expected[i], actual[i], tolerance, $"{what}: row {b}, token {j}, logit {v}");
        }
    }
}
