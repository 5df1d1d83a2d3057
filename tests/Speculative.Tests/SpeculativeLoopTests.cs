using Condensa.Runtime.Batching;

namespace Condensa.Speculative.Tests;

/// <summary>
/// Speculative steps in the decode loop against fake models whose answers are known: the target continues t with t + 1;
/// the draft agrees except after multiples of 3, so some drafts are accepted and some rejected.
/// </summary>
[TestClass]
public sealed class SpeculativeLoopTests
{
    private const int Vocab = 32;
    private static FakeDecoder Target(int maxContext = 256) => new((t, _) => (t + 1) % Vocab, Vocab, maxContext);
    private static FakeDecoder Draft(int maxContext = 256) => new((t, _) => t % 3 == 0 ? (t + 2) % Vocab : (t + 1) % Vocab, Vocab, maxContext);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void DraftModel_ChainsOrTrees_EqualPlainAndStopInsideAcceptedDrafts(bool tree)
    {
        var (target, draft) = (Target(), Draft());
        var options = new GenerationOptions { MaxNewTokens = 10, StopTokenIds = [16] };
        int[][] prompts = [[1], [7, 8], [12]];   // row 2 reaches the stop token 16 inside an accepted chain
        var stats = new SpeculativeStats();
        using var drafter = ModelDrafter.ForDraftModel(draft, target.Manifest, prompts.Length, SamplingOptions.Greedy);
        IDraftPlanner planner = tree ? new TreePlanner(TreeCalibration.Default(), nodes: 7, depth: 3, maxNodes: 7) : new ChainPlanner(4);

        var results = new Generator(target, new SpeculativeDecodeStep(drafter, planner, stats: stats)).GenerateBatch(prompts, options, stats.Generation,
            TestContext.CancellationToken);

        for (var b = 0; b < prompts.Length; b++)
            CollectionAssert.AreEqual(target.Continue(prompts[b], 10, [16]), results[b].Tokens.ToArray(), $"row {b}");
        Assert.AreEqual(FinishReason.Stop, results[2].FinishReason);
        Assert.IsGreaterThan(0, stats.Accepted);
        Assert.IsGreaterThan(stats.Accepted, stats.Proposed, "some drafts must be rejected");
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void ModelAsksForPaddedPasses_VerificationPadsAndStillEqualsPlain(bool tree)
    {
        // a model replaying captured graphs asks for power-of-two pass lengths; the padding must never be committed
        var target = new FakeDecoder((t, _) => (t + 1) % Vocab, Vocab, passLength: n => n <= 1 ? n : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n));
        var draft = Draft();
        int[][] prompts = [[1], [7, 8], [12]];
        var options = new GenerationOptions { MaxNewTokens = 12 };
        using var drafter = ModelDrafter.ForDraftModel(draft, target.Manifest, prompts.Length, SamplingOptions.Greedy);
        IDraftPlanner planner = tree ? new TreePlanner(TreeCalibration.Default(), nodes: 7, depth: 3, maxNodes: 7) : new ChainPlanner(4);

        var results = new Generator(target, new SpeculativeDecodeStep(drafter, planner)).GenerateBatch(prompts, options,
            cancellationToken: TestContext.CancellationToken);

        for (var b = 0; b < prompts.Length; b++)
            CollectionAssert.AreEqual(target.Continue(prompts[b], 12), results[b].Tokens.ToArray(), $"row {b}");
        var verification = target.PassLengths.Where(n => n > 1).ToList();
        Assert.IsNotEmpty(verification);
        Assert.IsTrue(verification.All(n => (n & (n - 1)) == 0), $"verification passes ran padded: {string.Join(",", verification)}");
    }

    [TestMethod]
    public void DraftModel_CatchUpAfterRoundsWithoutDrafts_KeepsMultiRowPassesWithinTheModelsLongest()
    {
        // eight rounds of the root alone leave the draft eight tokens behind; it catches up 3 tokens a pass at batch 3
        var target = Target();
        var draft = new FakeDecoder((t, _) => t % 3 == 0 ? (t + 2) % Vocab : (t + 1) % Vocab, Vocab) { LongestRowsPass = 3 };
        int[][] prompts = [[1, 2, 3, 4, 5], [7, 8], [12]];
        var options = new GenerationOptions { MaxNewTokens = 14 };
        using var drafter = ModelDrafter.ForDraftModel(draft, target.Manifest, prompts.Length, SamplingOptions.Greedy);

        var results = new Generator(target, new SpeculativeDecodeStep(drafter, new RootOnlyFirst(rounds: 8, gamma: 2))).GenerateBatch(prompts, options,
            cancellationToken: TestContext.CancellationToken);

        for (var b = 0; b < prompts.Length; b++)
            CollectionAssert.AreEqual(target.Continue(prompts[b], 14), results[b].Tokens.ToArray(), $"row {b}");
        var rowsPasses = draft.PassShapes.Where(p => p.Batch > 1).ToList();
        Assert.IsNotEmpty(rowsPasses);
        Assert.IsTrue(rowsPasses.All(p => p.SeqLen <= 3), $"multi-row passes: {string.Join(",", rowsPasses.Select(p => p.SeqLen))}");
        Assert.IsTrue(draft.PassShapes.Any(p => p.Batch == 1 && p.SeqLen == 5), "the longest prompt went in at prefill, alone");
    }

    [TestMethod]
    public void DraftModel_CatchUpOnAModelThatReplaysCapturedGraphs_GoesInPaddedPassesNoLongerThanItCaptures()
    {
        // at batch 1 too: ten rounds of the root alone leave the draft eleven tokens behind; a model that captures passes of up
        // to 4 tokens, padded to 2 or 4, takes them as 4 + 4 + 3 padded to 4, never a length it has not replayed
        static int Padded(int n) => n is > 1 and <= 4 ? (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n) : n;
        var target = Target();
        var draft = new FakeDecoder((t, _) => t % 3 == 0 ? (t + 2) % Vocab : (t + 1) % Vocab, Vocab, passLength: Padded) { LongestCapturedPass = 4 };
        int[][] prompts = [[1, 2, 3, 4, 5]];
        using var drafter = ModelDrafter.ForDraftModel(draft, target.Manifest, 1, SamplingOptions.Greedy);

        var results = new Generator(target, new SpeculativeDecodeStep(drafter, new RootOnlyFirst(rounds: 10, gamma: 2)))
            .GenerateBatch(prompts, new GenerationOptions { MaxNewTokens = 18 }, cancellationToken: TestContext.CancellationToken);

        CollectionAssert.AreEqual(target.Continue(prompts[0], 18), results[0].Tokens.ToArray());
        var decodePasses = draft.PassLengths.Skip(1).ToList();   // after the prompt's prefill
        Assert.IsNotEmpty(decodePasses);
        Assert.IsTrue(decodePasses.All(n => n is 1 or 2 or 4), $"draft passes after the prompt: {string.Join(",", decodePasses)}");
    }

    [TestMethod]
    public void RoundsOfTheRootAlone_RunAsPlainSteps_WithoutTheDrafter()
    {
        // the planner's plain rounds must cost what plain decoding costs: one token a row, the drafter not asked
        var (target, draft) = (Target(), Draft());
        int[][] prompts = [[1, 2, 3], [7, 8]];
        var options = new GenerationOptions { MaxNewTokens = 16 };
        var stats = new SpeculativeStats();
        using var drafter = new CountingDrafter(ModelDrafter.ForDraftModel(draft, target.Manifest, prompts.Length, SamplingOptions.Greedy));

        var results = new Generator(target, new SpeculativeDecodeStep(drafter, new RootOnlyFirst(rounds: 6, gamma: 2), stats: stats))
            .GenerateBatch(prompts, options, stats.Generation, TestContext.CancellationToken);

        for (var b = 0; b < prompts.Length; b++)
            CollectionAssert.AreEqual(target.Continue(prompts[b], 16), results[b].Tokens.ToArray(), $"row {b}");
        Assert.AreEqual(6, stats.RoundsByPlannedDrafts[0]);
        Assert.AreEqual(stats.Rounds - 6, drafter.Proposals, "the drafter proposed in the chain rounds alone");
        Assert.AreEqual(stats.Rounds - 6, drafter.Commits);
        Assert.IsTrue(target.PassShapes.Skip(prompts.Length).Take(6).All(p => p.SeqLen == 1), "the plain rounds passed one token a row");
        Assert.IsGreaterThan(0, stats.Accepted, "the draft caught up after the plain rounds");
    }

    private sealed class CountingDrafter(IDrafter inner) : IDrafter, IDisposable
    {
        public int Proposals { get; private set; }
        public int Commits { get; private set; }
        public string Name => inner.Name;
        public void RowStarted(KvCache target, int row) => inner.RowStarted(target, row);
        public void PrefillPassed(KvCache source, int sourceRow, int row, ReadOnlySpan<int> chunk) => inner.PrefillPassed(source, sourceRow, row, chunk);

        public void Propose(KvCache target, IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeShape shape, TreeDrafts output)
        {
            Proposals++;
            inner.Propose(target, rows, active, shape, output);
        }

        public void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, TreeDrafts drafts, ReadOnlySpan<bool> active)
        {
            Commits++;
            inner.Commit(target, lengthsBefore, drafts, active);
        }

        public void Dispose() => (inner as IDisposable)?.Dispose();
    }

    // The root alone for the first rounds, then chains of gamma.
    private sealed class RootOnlyFirst(int rounds, int gamma) : IDraftPlanner
    {
        private int _round;
        public int MaxNodes => gamma + 1;
        public TreeShape Next(int activeRows, int context) => TreeShape.Chain(_round++ < rounds ? 0 : gamma);
    }

    [TestMethod]
    public void ContinuousBatching_DraftModelRowsRefilled_EachDocumentAsAlone()
    {
        // A draft model keeps a cache per row: a new document in a freed row must not see the last one's entries.
        var (target, draft) = (Target(), Draft());
        var requests = Enumerable.Range(0, 6).Select(i => new BatchRequest(i, [.. Enumerable.Range(3 * i, 2 + i % 2)],
            new GenerationOptions { MaxNewTokens = 3 + 2 * i })).ToList();
        var stats = new SpeculativeStats();
        using var step = (SpeculativeDecodeStep)Speculation.CreateStep(target, new SpeculationOptions { Mode = SpeculationMode.Draft, Gamma = 3 }, 2,
            SamplingOptions.Greedy, draft, stats);

        var results = new ContinuousBatcher(target, step).Run(requests, new BatchOptions { BatchSize = 2 }, stats.Generation, TestContext.CancellationToken)
            .ToList();

        Assert.HasCount(6, results);
        foreach (var result in results)
        {
            var request = requests[(int)result.Id];
            CollectionAssert.AreEqual(target.Continue(request.Prompt, request.Generation!.MaxNewTokens), result.Tokens.ToArray(), $"document {result.Id}");
        }
        Assert.IsGreaterThan(0, stats.Accepted);
        var starts = draft.Fed.Where(f => f.Position == 0).Select(f => f.Token).Order().ToArray();
        CollectionAssert.AreEqual(requests.Select(r => r.Prompt[0]).Order().ToArray(), starts, "the draft starts every document at position 0");
    }

    [TestMethod]
    public void StaticBatch_DocumentsMovedIntoTheLeadingRows_TheDraftModelsEntriesMoveWithThem()
    {
        // the loop packs the last documents into rows 0 and 1; a draft whose cache rows stayed behind would catch up on
        // tokens it already holds (the same position and token fed twice)
        var (target, draft) = (Target(), Draft());
        int[] lengths = [2, 3, 40, 48];
        var requests = lengths.Select((n, i) => new BatchRequest(i, [4 * i, 4 * i + 1], new GenerationOptions { MaxNewTokens = n })).ToList();
        var stats = new SpeculativeStats();
        using var step = (SpeculativeDecodeStep)Speculation.CreateStep(target, new SpeculationOptions { Mode = SpeculationMode.Draft, Gamma = 1 }, 4,
            SamplingOptions.Greedy, draft, stats);

        var results = new ContinuousBatcher(target, step).Run(requests, new BatchOptions { BatchSize = 4 }, stats.Generation, TestContext.CancellationToken)
            .ToList();

        foreach (var result in results)
        {
            var request = requests[(int)result.Id];
            CollectionAssert.AreEqual(target.Continue(request.Prompt, request.Generation!.MaxNewTokens), result.Tokens.ToArray(), $"document {result.Id}");
        }
        Assert.IsGreaterThan(0, stats.Generation.RowMoves);
        var twice = draft.Fed.GroupBy(f => (f.Position, f.Token)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.IsEmpty(twice, $"fed twice: {string.Join(", ", twice)}");
        Assert.AreEqual(0, draft.Fed[^1].Row, "the last document drafts in row 0");
    }

    [TestMethod]
    public async Task KeptConversation_DraftModel_CarriesItsCacheIntoTheNextTurn()
    {
        // chat's pattern: one step and one cache across turns; the second turn names the tokens the cache holds
        var (target, draft) = (Target(), Draft());
        using var drafter = ModelDrafter.ForDraftModel(draft, target.Manifest, 1, SamplingOptions.Greedy);
        var step = new SpeculativeDecodeStep(drafter, new ChainPlanner(3));
        using var cache = target.CreateCache(1);
        var options = new GenerationOptions { MaxNewTokens = 6 };
        int[] prompt1 = [1, 2];

        var first = await Collect(new Generator(target, step).StreamAsync(prompt1, options, cache: cache, cancellationToken: TestContext.CancellationToken));
        int[] conversation = [.. prompt1, .. first[..^1]];
        int[] prompt2 = [first[^1], 20];
        var fedBefore = draft.Fed.Count;
        var second = await Collect(new Generator(target, step).StreamAsync(prompt2, options, cache: cache, cachedTokens: conversation,
            cancellationToken: TestContext.CancellationToken));

        CollectionAssert.AreEqual(target.Continue(prompt1, 6), first);
        CollectionAssert.AreEqual(target.Continue(prompt2, 6), second);
        Assert.AreEqual(1, draft.Fed.Count(f => f.Position == 0), "the draft keeps the first turn instead of starting over");
        var resumed = draft.Fed[fedBefore];   // the second turn's catch-up starts where the draft's cache ended
        int[] whole = [.. conversation, .. prompt2];
        Assert.AreEqual(whole[resumed.Position], resumed.Token, $"the draft resumed at position {resumed.Position} with the conversation's token");
    }

    private static async Task<int[]> Collect(IAsyncEnumerable<int> tokens)
    {
        var list = new List<int>();
        await foreach (var t in tokens) list.Add(t);
        return [.. list];
    }

    [TestMethod]
    public void Chain_AtTheContextLimit_DraftsOnlyWhatFits()
    {
        var target = Target(maxContext: 20);
        int[] prompt = [.. Enumerable.Range(0, 10)];
        var options = new GenerationOptions { MaxNewTokens = 11 };   // prompt + 11 - 1 = 20: the whole context
        using var drafter = new PromptLookupDrafter();

        var result = new Generator(target, new SpeculativeDecodeStep(drafter, new ChainPlanner(8))).GenerateBatch([prompt], options,
            cancellationToken: TestContext.CancellationToken)[0];

        CollectionAssert.AreEqual(target.Continue(prompt, 11), result.Tokens.ToArray());
    }

    // A draft model feeds a tree level by level, every node so far from the root's slot on: near the context limit a wide
    // level must not need more slots than are left (the draft's cache overflowed at 7,680 + 512 of 8,192 on the H200).
    [TestMethod]
    public void Tree_AtTheContextLimit_DraftsOnlyWhatFits()
    {
        var (target, draft) = (Target(maxContext: 20), Draft(maxContext: 20));
        int[] prompt = [.. Enumerable.Range(0, 10)];
        var options = new GenerationOptions { MaxNewTokens = 11 };   // prompt + 11 - 1 = 20: the whole context
        using var drafter = ModelDrafter.ForDraftModel(draft, target.Manifest, 1, SamplingOptions.Greedy);
        var planner = new TreePlanner(TreeCalibration.Default(), nodes: 15, depth: 3, maxNodes: 15);

        var result = new Generator(target, new SpeculativeDecodeStep(drafter, planner)).GenerateBatch([prompt], options,
            cancellationToken: TestContext.CancellationToken)[0];

        CollectionAssert.AreEqual(target.Continue(prompt, 11), result.Tokens.ToArray());
    }

    [TestMethod]
    public void Lookup_TextThatRepeats_TakesFewerTargetPassesThanTokens()
    {
        var target = Target();
        int[] prompt = [.. Enumerable.Range(0, Vocab), .. Enumerable.Range(0, 4)];   // the continuation repeats the prompt
        var stats = new SpeculativeStats();

        var result = new Generator(target, new SpeculativeDecodeStep(new PromptLookupDrafter(), new ChainPlanner(6), stats: stats))
            .GenerateBatch([prompt], new GenerationOptions { MaxNewTokens = 25 }, stats.Generation, TestContext.CancellationToken)[0];

        CollectionAssert.AreEqual(target.Continue(prompt, 25), result.Tokens.ToArray());
        Assert.AreEqual(stats.Proposed, stats.Accepted, "every lookup draft is right here");
        Assert.AreEqual(1 + (25 - 1 + 6) / 7, target.Passes, "one prefill pass, then seven tokens a pass");
    }
}
