using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;

namespace Condensa.Runtime.Tests;

/// <summary>
/// Passes over the leading rows alone (DecoderModel.PassRows) and the decode loop's packing of documents into them as
/// others finish (DecodeLoop.PackRows): a document moved to another row, and a pass that leaves the trailing rows out,
/// give the tokens and logits it gets alone.
/// </summary>
[TestClass]
public sealed class LeadingRowsTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(KvResidence.Host)]
    [DataRow(KvResidence.Device)]
    public void StaticBatchWhoseFirstDocumentsFinish_LastOnesMoveIntoTheLeadingRows_EachAsAlone(KvResidence residence)
    {
        using var model = DecoderModel.Load(TinyModels.Get("llama").Export, new SessionSettings { KvResidence = residence });
        int[] lengths = [2, 3, 40, 48];
        var requests = lengths.Select((n, i) => new BatchRequest(i, TinyModels.Ids(3 + i, 900 + i), new GenerationOptions { MaxNewTokens = n })).ToList();
        var stats = new GenerationStats();

        var results = new ContinuousBatcher(model).Run(requests, new BatchOptions { BatchSize = 4 }, stats, TestContext.CancellationToken)
            .ToDictionary(r => r.Id);

        foreach (var request in requests)
        {
            var alone = new Generator(model).GenerateBatch([request.Prompt], request.Generation!, cancellationToken: TestContext.CancellationToken)[0];
            CollectionAssert.AreEqual(alone.Tokens.ToArray(), results[request.Id].Tokens.ToArray(), $"document {request.Id}");
        }
        Assert.AreEqual(2, stats.RowMoves, "documents 2 and 3 move into rows 0 and 1 once those finish");
        Assert.AreEqual(1, model.LastPassRows, "the last document's passes run over row 0 alone");
    }

    [TestMethod]
    [DataRow(KvResidence.Host)]
    [DataRow(KvResidence.Device)]
    public void MoveRows_ThenAPass_GivesTheLogitsOfTheDocumentAlone(KvResidence residence)
    {
        using var model = DecoderModel.Load(TinyModels.Get("llama").Export, new SessionSettings { KvResidence = residence });
        var vocab = model.Manifest.VocabSize;
        var (first, moved) = (TinyModels.Ids(4, 920), TinyModels.Ids(6, 921));
        using var batch = model.CreateCache(4);
        using var alone = model.CreateCache(1);
        var tokens = new int[4 * 6];
        first.CopyTo(tokens, 6);
        moved.CopyTo(tokens, 18);
        model.Forward(batch, new ForwardInputs(tokens, [0, 4, 0, 6], LogitsSelection.LastPerRow));
        model.Forward(alone, new ForwardInputs(moved, [6], LogitsSelection.LastPerRow));

        batch.MoveRows([new RowMove(3, 0)]);
        var logits = model.Forward(batch, new ForwardInputs([7, 0, 0, 0], [1, 0, 0, 0], LogitsSelection.LastPerRow)).ToArray();
        var expected = model.Forward(alone, new ForwardInputs([7], [1], LogitsSelection.LastPerRow)).ToArray();

        CollectionAssert.AreEqual(new[] { 7, 4, 0, 0 }, batch.Lengths.ToArray(), "row 0 holds the moved document and its new token; row 3 is empty");
        // within float rounding: the batch's prompt ran on a multi-row graph, the lone one's on the one-row graph
        for (var i = 0; i < vocab; i++) Assert.AreEqual(expected[i], logits[i], 1e-4f, $"the moved document's next logit {i}, as alone");
        Assert.AreEqual(1, model.LastPassRows);
    }

    [TestMethod]
    public void Forward_TrailingRowsWithoutTokens_RunsOverTheLeadingRowsWithTheirLogits()
    {
        using var model = DecoderModel.Load(TinyModels.Get("llama").Export);
        var vocab = model.Manifest.VocabSize;
        int[][] prompts = [TinyModels.Ids(5, 910), TinyModels.Ids(3, 911), TinyModels.Ids(4, 912)];
        using var batch = model.CreateCache(8);
        using var three = model.CreateCache(3);
        var (seqLen, tokens, counts) = (5, new int[8 * 5], new int[8]);
        for (var b = 0; b < 3; b++)
        {
            prompts[b].CopyTo(tokens, b * seqLen);
            counts[b] = prompts[b].Length;
        }

        var logits = model.Forward(batch, new ForwardInputs(tokens, counts, LogitsSelection.LastPerRow)).ToArray();
        var rows = model.LastPassRows;
        var expected = model.Forward(three, new ForwardInputs(tokens.AsSpan(0, 3 * seqLen), counts.AsSpan(0, 3), LogitsSelection.LastPerRow)).ToArray();

        Assert.AreEqual(4, rows, "rows 0-2 have tokens: the pass covers the first four (a power of two)");
        CollectionAssert.AreEqual(expected, logits[..(3 * vocab)]);
        CollectionAssert.AreEqual(new[] { 5, 3, 4, 0, 0, 0, 0, 0 }, batch.Lengths.ToArray(), "rows past the pass are untouched");
    }
}
