namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class GammaControllerTests
{
    [TestMethod]
    public void Next_PassesPaddedToPowersOfTwo_PricesEachGammaByItsPaddedPass()
    {
        // round 13's prompt lookup at 8 x 7,680 (drafts free, 80 % per token): a captured target pads a verification of
        // γ + 1 tokens to 2, 4, 8 or 16, each costing 0.3 ms + 0.12 ms a token, against 0.385 ms a plain step. Tokens a
        // millisecond: γ = 1 3.3, γ = 3 3.8, γ = 7 3.3, γ = 12 2.1; plain 2.6. Priced by γ + 1 (a line through γ = 4's and 12's
        // padded costs) γ = 1 looks best, and γ = 3 is never tried.
        static int Padded(int tokens) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)tokens);
        var controller = new GammaController(fixedGamma: null, maxGamma: 12, firstGamma: GammaController.FreeDraftsFirstGamma, passLength: Padded);
        var choices = new List<int>();
        for (var round = 0; round < 200; round++)
        {
            var gamma = controller.Next();
            choices.Add(gamma);
            var accepted = gamma == 0 ? 0 : (int)Math.Round(100 * gamma * AcceptanceMath.AcceptedShare(gamma, 0.8));
            controller.Observe(gamma, 100 * gamma, accepted, TimeSpan.Zero, TimeSpan.FromMilliseconds(gamma == 0 ? 0.385 : 0.3 + 0.12 * Padded(gamma + 1)));
        }
        var settled = choices.Skip(100).GroupBy(g => g).OrderByDescending(g => g.Count()).First().Key;
        Assert.AreEqual(3, settled, string.Join(" ", choices));
    }

    [TestMethod]
    public void ChainPlanner_RowsThatDraftedNothing_CountAsRejectedDrafts()
    {
        // two rows: one accepts every draft, the other (prompt lookup without a match) drafts nothing and gains one token a
        // round. A verification of γ drafts costs 1 + 0.6 γ plain steps: (1 + γ / 2) tokens a row per round never pays, though
        // the drafts that were proposed were all accepted.
        var planner = new ChainPlanner(gamma: null, maxGamma: 8);
        var choices = new List<int>();
        for (var round = 0; round < 120; round++)
        {
            var shape = planner.Next(activeRows: 2, context: 100);
            var gamma = shape.Depth;
            choices.Add(gamma);
            planner.Observe(shape, activeRows: 2, longestProposal: gamma, proposed: gamma, accepted: gamma, TimeSpan.Zero,
                TimeSpan.FromMilliseconds(1 + 0.6 * gamma));
        }
        Assert.IsGreaterThan(100, choices.Count(g => g == 0), string.Join(" ", choices));
    }

    [TestMethod]
    public void Next_Fixed_AlwaysReturnsIt()
    {
        var controller = new GammaController(fixedGamma: 5);
        controller.Observe(5, 5, 0, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(10));
        Assert.AreEqual(5, controller.Next());
    }

    [TestMethod]
    public void Next_HighAcceptanceCheapDraft_ChoosesLongerChainThanLowAcceptance()
    {
        var high = Trained(acceptance: 0.9, draftMs: 0.5, verifyMs: gamma => 20 + gamma);
        var low = Trained(acceptance: 0.3, draftMs: 0.5, verifyMs: gamma => 20 + gamma);
        Assert.IsGreaterThan(low.Next(), high.Next());
    }

    [TestMethod]
    public void Next_ExpensiveDraft_ChoosesShorterChain()
    {
        var cheap = Trained(acceptance: 0.8, draftMs: 0.2, verifyMs: gamma => 10);
        var costly = Trained(acceptance: 0.8, draftMs: 8, verifyMs: gamma => 10);
        Assert.IsGreaterThan(costly.Next(), cheap.Next());
    }

    [TestMethod]
    public void Next_VerificationCostingSeveralPlainSteps_ChoosesPlainDecoding()
    {
        // round 8's 1.1B shape at 32 x 7,936: a plain step 3 ms, a verification ~21 ms whatever γ, drafts free (lookup)
        var losing = Trained(acceptance: 0.6, draftMs: 0, verifyMs: gamma => gamma == 0 ? 3 : 21);
        Assert.AreEqual(0, losing.Next(), "no γ beats one token per 3 ms");
        var paying = Trained(acceptance: 0.6, draftMs: 0, verifyMs: gamma => gamma == 0 ? 3 : 3.5);
        Assert.IsGreaterThan(0, paying.Next(), "a verification near a plain step's cost pays");
    }

    [TestMethod]
    public void Next_Adaptive_MeasuresAPlainPassAndGammaOneTwiceBeforeChoosing()
    {
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        var asked = Drive(controller, rounds: 4, acceptance: 0.8, verifyMs: gamma => gamma == 0 ? 4 : 5, draftMs: 0.1);
        CollectionAssert.AreEqual(new[] { 0, 0, 1, 1 }, asked, "each time twice: the first pass of a length may include a capture");
        Assert.AreEqual(8, controller.Next(), "80 % acceptance at 5 ms a round, flat in γ until measured, beats one token per 4 ms most at γ = 8");
    }

    [TestMethod]
    public void Planner_PromptLookup_ExploresALongChainFirst()
    {
        // lookup's drafts cost nothing: its first drafting rounds are γ = 4; where drafts cost passes (or no drafter is named), γ = 1
        using var lookup = new PromptLookupDrafter();
        foreach (var (mode, drafter, first) in new (SpeculationMode, IDrafter?, int)[]
                 { (SpeculationMode.Lookup, lookup, GammaController.FreeDraftsFirstGamma), (SpeculationMode.Self, null, 1) })
        {
            var planner = Speculation.Planner(new SpeculationOptions { Mode = mode }, drafter);
            var depths = new List<int>();
            for (var round = 0; round < 3; round++)
            {
                var shape = planner.Next(activeRows: 1, context: 100);
                depths.Add(shape.Depth);
                planner.Observe(shape, 1, shape.Depth, shape.Depth, 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
            }
            CollectionAssert.AreEqual(new[] { 0, 0, first }, depths, mode.ToString());
        }
    }

    [TestMethod]
    public void Next_FirstVerificationSlowedByACapture_StillDraftsOnceMeasuredAgain()
    {
        // round 10's lookup at 1 x 7,936: drafting pays (four tokens in 1 ms against 0.4 ms a plain step), but the first
        // pass of each length captured a CUDA graph (40 ms)
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        var seen = new HashSet<int>();
        Drive(controller, rounds: 12, acceptance: 0.9, verifyMs: gamma => seen.Add(gamma) ? 40 : gamma == 0 ? 0.4 : 1);
        Assert.IsGreaterThan(0, controller.Next(), "the captures' times are replaced by the second measurements");
    }

    [TestMethod]
    public void Next_OneVerificationSlowedByACaptureMidRun_KeepsItsChoice()
    {
        // round 17 a, prompt lookup at 32 x 1,024: finished rows took the passes to fewer rows, whose first passes captured
        // CUDA graphs (4.4-4.9 ms against 0.4-0.6 ms); one such round must not reprice the γ it verified
        var (spiked, steady) = (LongChains(), LongChains());
        var gamma = steady.Next();
        Assert.AreEqual(gamma, spiked.Next());
        Assert.IsGreaterThan(4, gamma, "long chains pay here");
        steady.Observe(gamma, 100 * gamma, 90 * gamma, TimeSpan.Zero, TimeSpan.FromMilliseconds(0.6));
        spiked.Observe(gamma, 100 * gamma, 90 * gamma, TimeSpan.Zero, TimeSpan.FromMilliseconds(4.9));

        Assert.AreEqual(steady.Next(), spiked.Next());
    }

    [TestMethod]
    public void Next_VerificationSlowerTwoRoundsRunning_IsPriced()
    {
        // the same spike twice in a row is a cost that changed: the chain shortens
        var (slowed, steady) = (LongChains(), LongChains());
        var gamma = steady.Next();
        slowed.Next();
        for (var round = 0; round < 2; round++)
        {
            steady.Observe(gamma, 100 * gamma, 90 * gamma, TimeSpan.Zero, TimeSpan.FromMilliseconds(0.6));
            slowed.Observe(gamma, 100 * gamma, 90 * gamma, TimeSpan.Zero, TimeSpan.FromMilliseconds(4.9));
        }

        Assert.IsLessThan(steady.Next(), slowed.Next());
    }

    // Free drafts accepted at 90 %, verifications of 0.45 ms + 0.01 ms a token and a 0.37 ms plain pass, 40 rounds in.
    private static GammaController LongChains()
    {
        var controller = new GammaController(fixedGamma: null, maxGamma: 12, firstGamma: GammaController.FreeDraftsFirstGamma, catchesUp: false);
        Drive(controller, rounds: 40, acceptance: 0.9, verifyMs: gamma => gamma == 0 ? 0.37 : 0.45 + 0.01 * gamma);
        return controller;
    }

    [TestMethod]
    public void Observe_RoundWithoutDrafts_CountsAsAPlainPass()
    {
        // drafting pays (80 % at 3.5 ms a round); prompt lookup asked for γ = 4 found nothing twice: those passes verified
        // the root alone, plain passes (3 ms), which is what the controller waits for before choosing
        var controller = Trained(acceptance: 0.8, draftMs: 0, verifyMs: gamma => 3.5, rounds: 18, skipPlain: true);
        Assert.AreEqual(0, controller.Next(), "no plain pass measured yet");
        for (var round = 0; round < 2; round++)
            controller.Observe(4, proposed: 0, accepted: 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(3), verifiedGamma: 0);
        Assert.IsGreaterThan(0, controller.Next(), "the rounds without drafts measured the plain pass");
    }

    [TestMethod]
    public void Next_FirstPlainPassSlowedByACapture_StillChoosesPlainOnceMeasuredAgain()
    {
        // drafting loses (verify 21 ms a round, plain 3 ms), but the first plain pass captured a CUDA graph (40 ms)
        var controller = Trained(acceptance: 0.6, draftMs: 0, verifyMs: gamma => 21, rounds: 18, skipPlain: true);
        Assert.AreEqual(0, controller.Next(), "the plain pass is measured before choosing");
        controller.Observe(0, 0, 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(40));
        Assert.AreEqual(0, controller.Next(), "one plain pass may include a capture: it is measured again");
        controller.Observe(0, 0, 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(3));
        Assert.AreEqual(0, controller.Next(), "the second plain pass replaces the first");
    }

    [TestMethod]
    public void Next_WhileDraftingPays_ProbesAPlainPassNowAndThen()
    {
        // drafting pays (verify 3.5 ms a round against a 3 ms plain step), and the plain pass is re-measured within 48 rounds
        var controller = Trained(acceptance: 0.8, draftMs: 0, verifyMs: gamma => gamma == 0 ? 3 : 3.5, rounds: 18);
        var choices = Drive(controller, rounds: 48, acceptance: 0.8, verifyMs: gamma => gamma == 0 ? 3 : 3.5);
        Assert.IsGreaterThan(40, choices.Count(g => g > 0), "drafting is chosen");
        Assert.Contains(0, choices, "a plain pass is probed");
    }

    [TestMethod]
    public void Next_LongChainsAcceptingAShareOfTheirDrafts_CountsTheTokensThatShareMeans()
    {
        // round 10's lookup at 1 x 7,936: 64 % of 4-draft chains accepted (3.56 tokens a round) in 0.92 ms, a plain step
        // 0.367 ms. Read as a per-token α of 0.64, Ω(4) would be 2.49 tokens and plain decoding would win (2.71 tokens a
        // millisecond against 2.72).
        var controller = new GammaController(fixedGamma: null, maxGamma: 4, firstGamma: GammaController.FreeDraftsFirstGamma, catchesUp: false);
        Drive(controller, rounds: 10, acceptance: 0.64, verifyMs: gamma => gamma == 0 ? 0.367 : 0.92);
        Assert.IsGreaterThan(0, controller.Next());
        Assert.IsGreaterThan(0.8, controller.Alpha, "a 64 % share of 4-draft chains means α ≈ 0.82");
    }

    [TestMethod]
    public void Next_WhilePlainDecodingStaysBest_ProbesLessOften()
    {
        // drafting loses (21 ms a round against a 3 ms plain step): probes 16, 32, 64 .. rounds apart, not every 16th round
        var controller = Trained(acceptance: 0.6, draftMs: 0, verifyMs: gamma => gamma == 0 ? 3 : 21, rounds: 18);
        var choices = Drive(controller, rounds: 240, acceptance: 0.6, verifyMs: gamma => gamma == 0 ? 3 : 21, perToken: true);
        Assert.IsInRange(2, 4, Probes(choices).Count, $"every 16th round would be 15 probes: {string.Join(" ", choices)}");
    }

    [TestMethod]
    public void Next_WhilePlainDecodingStaysBest_ProbesFreeDraftsAtTheFirstGammaAndCostlyOnesAtTheBestDraftingGamma()
    {
        // a probe of free drafts (prompt lookup) verifies several at little more than one, in one round; drafts that cost
        // passes, explored at one, probe the γ drafting would run at were it chosen (here the longest: a verification costs
        // the same whatever its length), in two rounds (the first catches the drafter up). Probing one and three in turn
        // measured one or three tokens a probe and took round 30's one-row cells 50-400 rounds to see γ = 12 pay.
        foreach (var (first, catchesUp, expected) in new[] { (1, true, new[] { 8 }), (GammaController.FreeDraftsFirstGamma, false, new[] { 4 }) })
        {
            var controller = new GammaController(fixedGamma: null, maxGamma: 8, firstGamma: first, catchesUp: catchesUp);
            var probes = Probes(Drive(controller, rounds: 200, acceptance: 0.6, verifyMs: gamma => gamma == 0 ? 3 : 21).Skip(6).ToList());
            Assert.IsGreaterThanOrEqualTo(3, probes.Count, $"first γ {first}: drafting is probed");
            var shown = string.Join(", ", probes.Select(p => string.Join("+", p)));
            Assert.IsTrue(probes.All(p => p.Count == (catchesUp ? 2 : 1) && p.Distinct().Count() == 1), $"first γ {first}: probes {shown}");
            CollectionAssert.AreEquivalent(expected, probes.Select(p => p[0]).Distinct().ToArray(), $"first γ {first}: probes {shown}");
        }
    }

    [TestMethod]
    public void Next_NoGammaPayingEvenIfEveryDraftWereAccepted_NoProbes()
    {
        // a draft step as slow as a plain step and a verification of two: γ drafts and their check cost more than the γ + 1
        // plain steps they could save, whatever the text; after the first exploration plain decoding runs alone
        var choices = Drive(new GammaController(fixedGamma: null, maxGamma: 8), rounds: 250, acceptance: 1.0,
            verifyMs: gamma => gamma == 0 ? 3 : 6, draftMs: 3);
        Assert.AreEqual(2, choices.Count(g => g > 0), $"only the exploration drafts: {string.Join(" ", choices.Take(40))}");
    }

    [TestMethod]
    public void Next_StalledMeasurementsMakingDraftingLookHopeless_AreMeasuredAgainAtTheLongestInterval()
    {
        // both exploration rounds stalled (60 ms against 3.5) make drafting look unable to pay; the probe 256 rounds on
        // measures 3.5 ms, drafting could pay again (γ = 1: 2 tokens in 3.5 ms against 1 in 3 ms), and probes resume
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        Drive(controller, rounds: 4, acceptance: 1.0, verifyMs: gamma => gamma == 0 ? 3 : 60);
        var choices = Drive(controller, rounds: 450, acceptance: 1.0, verifyMs: gamma => gamma == 0 ? 3 : 3.5);
        Assert.IsTrue(choices.Take(200).All(g => g == 0), "plain decoding while the stalled measurements stand");
        Assert.IsGreaterThanOrEqualTo(3, choices.Skip(200).Count(g => g > 0), $"probes again: {string.Join(" ", choices.Skip(200))}");
    }

    [TestMethod]
    public void Observe_ChainsCutShort_PricesTheDraftStepsTheyRan()
    {
        // γ = 3 planned, one draft run (the rows near their token limit) in 4 ms: a draft step costs 4 ms, more than the 3 ms
        // plain pass, so no γ can pay; priced per planned γ (1.3 ms a step) drafting would look worth probing or running
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        for (var i = 0; i < 2; i++) controller.Observe(0, 0, 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(3));
        for (var i = 0; i < 2; i++)
            controller.Observe(3, 1, 1, TimeSpan.FromMilliseconds(4), TimeSpan.FromMilliseconds(3.5), verifiedGamma: 1);
        var choices = Drive(controller, rounds: 200, acceptance: 1.0, verifyMs: gamma => gamma == 0 ? 3 : 3.5, draftMs: 4);
        Assert.IsTrue(choices.All(g => g == 0), $"γ: {string.Join(" ", choices.Where(g => g > 0))}");
    }

    [TestMethod]
    public void Next_AProbeThatDraftedNothing_ProbesAgainNextRound()
    {
        // prompt lookup while plain decoding is best: a probe that finds no match proposes nothing (a plain pass), so the
        // next round probes again; once the text repeats, the first matched probe accepts everything and drafting returns
        static double Verify(int gamma) => gamma == 0 ? 3 : 3.5 + 0.1 * gamma;
        var controller = new GammaController(fixedGamma: null, maxGamma: 8, firstGamma: GammaController.FreeDraftsFirstGamma, catchesUp: false);
        Drive(controller, rounds: 40, acceptance: 0.0, verifyMs: Verify);   // drafts rejected: plain decoding is best
        var (choices, matchFrom) = (new List<int>(), 70);
        for (var round = 40; round < 200; round++)
        {
            var gamma = controller.Next();
            choices.Add(gamma);
            var proposed = round < matchFrom ? 0 : 100 * gamma;   // no match before round 70, then every draft accepted
            controller.Observe(gamma, proposed, proposed, TimeSpan.Zero, TimeSpan.FromMilliseconds(Verify(round < matchFrom ? 0 : gamma)),
                verifiedGamma: round < matchFrom ? 0 : gamma);
        }
        var firstDraft = choices.Skip(matchFrom - 40).TakeWhile(g => g == 0).Count();
        Assert.IsLessThanOrEqualTo(1, firstDraft, $"a probe within a round of the first match: {string.Join(" ", choices)}");
        Assert.IsGreaterThan(100, choices.Count(g => g > 0), $"drafting after the match: {string.Join(" ", choices)}");
    }

    [TestMethod]
    public void Next_OneStalledProbe_DoesNotStopTheProbes()
    {
        // drafting measured at 3.5 ms, then one probe stalls (300 ms): the fastest measurement still says drafting could pay
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        Drive(controller, rounds: 4, acceptance: 0.0, verifyMs: gamma => gamma == 0 ? 3 : 3.5);
        var drafted = 0;
        double Verify(int gamma) => gamma == 0 ? 3 : ++drafted == 1 ? 300 : 3.5;   // the first probe stalls
        var choices = Drive(controller, rounds: 200, acceptance: 0.0, verifyMs: Verify);
        Assert.IsGreaterThanOrEqualTo(3, choices.Count(g => g > 0), $"probes: {string.Join(" ", choices)}");
    }

    [TestMethod]
    public void Next_PlainStepsSlowingUntilDraftingCouldPay_ProbesAgain()
    {
        // as above, until the plain pass slows (a growing context) past what a fully accepted γ = 8 chain would cost per token
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        Drive(controller, rounds: 100, acceptance: 1.0, verifyMs: gamma => gamma == 0 ? 3 : 6, draftMs: 3);
        var choices = Drive(controller, rounds: 300, acceptance: 1.0, verifyMs: gamma => gamma == 0 ? 6 : 6, draftMs: 3);
        Assert.IsGreaterThan(100, choices.Count(g => g > 0), $"drafting once it could pay: {string.Join(" ", choices.Take(60))}");
    }

    [TestMethod]
    public void Next_AProbeAcceptingFarMoreThanExpected_ProbesAgainSoonAndReturnsToDrafting()
    {
        // the first rounds reject every draft (as the start of a generation can) and plain decoding wins; then every draft is
        // accepted, where drafting pays (γ = 1: 2 tokens in 4 ms against 1 in 3 ms). Probes 16 rounds apart while they keep
        // surprising bring drafting back within 120 rounds; probes thinning out to 32, 64 .. apart would not.
        static double Verify(int gamma) => gamma == 0 ? 3 : 3.5 + 0.5 * gamma;
        var controller = Trained(acceptance: 0, draftMs: 0, verifyMs: Verify, rounds: 27);
        Assert.AreEqual(0, controller.Next(), "plain decoding while drafts are rejected");
        controller.Observe(0, 0, 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(Verify(0)));
        var choices = Drive(controller, rounds: 120, acceptance: 1.0, verifyMs: Verify);
        Assert.IsGreaterThan(30, choices.Skip(60).Count(g => g > 0), $"drafting again in the last 60 rounds: {string.Join(" ", choices)}");
    }

    [TestMethod]
    public void Next_DrafterCatchingUpAfterPlainRounds_DraftsOnceItsSteadyRoundsPay()
    {
        // round 14's draft model at 1 x 7,680 on cuda: a plain step 0.323 ms, a verification 0.42 ms, a draft step 0.23 ms,
        // and a drafting round after plain rounds also runs the draft model over the tokens it sat out (0.02 ms each). The
        // first rounds reject every draft, so plain decoding wins at first; then 97 % of the drafts are accepted, where
        // drafting pays (γ = 3: 3.8 tokens in 1.1 ms). Priced by probes that carry their catch-ups, a draft step looks like
        // 0.5 ms and plain decoding stays; priced by a probe's second round, drafting returns.
        var choices = DriveCatchingUp(rounds: 400, plainMs: 0.323, verifyMs: 0.42, draftMs: gamma => 0.23 * gamma, alpha: 0.97, rejectingRounds: 40);
        Assert.IsGreaterThan(150, choices.Skip(200).Count(g => g > 0), string.Join(" ", choices));
    }

    [TestMethod]
    public void Next_DraftRoundsWithAFixedCost_PricesEachGammaByTheLineThroughThem()
    {
        // round 14's draft model at 1 x 1,024 on cuda: a round of one draft takes 0.26 ms, of three 0.55 ms (a fixed 0.115 ms
        // and 0.145 ms a step); verification 0.34-0.35 ms, a plain step 0.28 ms, 88 % per token. Priced at the draft steps'
        // average (0.22 ms), γ = 3 gives 3.35 tokens a millisecond and loses to plain decoding's 3.57; by the line, 3.76.
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        for (var i = 0; i < 2; i++) controller.Observe(0, 0, 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(0.28));
        for (var i = 0; i < 10; i++)
            foreach (var (gamma, draftMs, verifyMs) in new[] { (1, 0.26, 0.35), (3, 0.55, 0.34) })
                controller.Observe(gamma, 100 * gamma, (int)Math.Round(100 * gamma * AcceptanceMath.AcceptedShare(gamma, 0.88)),
                    TimeSpan.FromMilliseconds(draftMs), TimeSpan.FromMilliseconds(verifyMs));
        Assert.IsGreaterThanOrEqualTo(2, controller.Next());
    }

    [TestMethod]
    public void Next_DraftModelWithAFixedCostARound_FindsTheGammaThatBeatsPlainDecodingFromItsProbes()
    {
        // round 16's draft model at 1 x 1,024 on cuda: a plain step 0.282 ms, a verification 0.34 ms, a drafting round of
        // one draft 0.24 ms and of three 0.57 (a fixed 0.075 ms and 0.165 ms a step; and 0.02 ms a token it sat out, caught
        // up first), 88 % per token. Plain decoding wins the first rounds, where every draft is rejected; then γ = 3 wins
        // (3.5 tokens in 0.91 ms), which probes of one draft alone, priced through the origin (0.24 ms a step), never show.
        var choices = DriveCatchingUp(rounds: 1200, plainMs: 0.282, verifyMs: 0.34, draftMs: gamma => 0.075 + 0.165 * gamma, alpha: 0.88,
            rejectingRounds: 20);
        Assert.IsGreaterThan(300, choices.Skip(800).Count(g => g >= 2), string.Join(" ", choices));
    }

    [TestMethod]
    public void Next_ASurprisingProbeAfterTheProbesThinnedOut_BringsTheNextProbeForward()
    {
        // prompt lookup (free drafts, γ = 4 first) where nothing matches for 300 rounds: the probes thin out to 128 and 256
        // rounds apart. Then 60 % of the drafts are accepted, where drafting pays (γ = 4: 3.4 tokens in 5.5 ms against 1 in
        // 3 ms). The first probe after that surprises but does not move the estimate enough to draft; the next probe follows
        // within 16 rounds, not at the thinned interval, and drafting returns.
        static double Verify(int gamma) => gamma == 0 ? 3 : 3.5 + 0.5 * gamma;
        var controller = new GammaController(fixedGamma: null, maxGamma: 8, firstGamma: GammaController.FreeDraftsFirstGamma, catchesUp: false);
        Drive(controller, rounds: 300, acceptance: 0.0, verifyMs: Verify);
        var choices = Drive(controller, rounds: 600, acceptance: 0.6, verifyMs: Verify);
        var first = choices.FindIndex(g => g > 0);
        var second = choices.FindIndex(first + 1, g => g > 0);
        Assert.AreEqual(0, choices[first + 1], $"one probe alone does not bring drafting back: {string.Join(" ", choices)}");
        Assert.IsLessThanOrEqualTo(first + 17, second, $"probes at {first} and {second}: {string.Join(" ", choices)}");
        Assert.IsGreaterThan(150, choices.Skip(400).Count(g => g > 0), string.Join(" ", choices));
    }

    [TestMethod]
    public void AlphaForAcceptedShare_InvertsTheChainModel()
    {
        foreach (var gamma in new[] { 1, 3, 4, 8 })
        foreach (var alpha in new[] { 0.3, 0.6, 0.9 })
        {
            var share = (AcceptanceMath.ExpectedTokensPerRound(gamma, alpha) - 1) / gamma;
            Assert.AreEqual(alpha, AcceptanceMath.AlphaForAcceptedShare(gamma, share), 1e-6, $"γ = {gamma}, α = {alpha}");
        }
        Assert.AreEqual(0, AcceptanceMath.AlphaForAcceptedShare(4, 0));
        Assert.AreEqual(1, AcceptanceMath.AlphaForAcceptedShare(4, 1));
    }

    [TestMethod]
    public void ExpectedTokensPerRound_MatchesClosedForm()
    {
        Assert.AreEqual(1.0, AcceptanceMath.ExpectedTokensPerRound(4, 0), 1e-12);
        Assert.AreEqual(5.0, AcceptanceMath.ExpectedTokensPerRound(4, 1), 1e-12);
        Assert.AreEqual((1 - Math.Pow(0.8, 5)) / 0.2, AcceptanceMath.ExpectedTokensPerRound(4, 0.8), 1e-12);
        Assert.AreEqual(3.0, AcceptanceMath.Speedup(2, 1.0, draftStep: 0, verify: 1, targetStep: 1), 1e-12);
    }

    /// <summary>The runs of drafting rounds in <paramref name="choices"/>: a probe while plain decoding is best.</summary>
    private static List<List<int>> Probes(IEnumerable<int> choices)
    {
        var runs = new List<List<int>>();
        var previous = 0;
        foreach (var gamma in choices)
        {
            if (gamma > 0 && previous == 0) runs.Add([]);
            if (gamma > 0) runs[^1].Add(gamma);
            previous = gamma;
        }
        return runs;
    }

    /// <summary>A controller (γ up to 8) driving a drafter that keeps state, 100 rows: a plain round takes
    /// <paramref name="plainMs"/>; a drafting round <paramref name="draftMs"/>(γ) plus 0.02 ms for each plain round since the
    /// last one (the catch-up) and a <paramref name="verifyMs"/> verification, accepting nothing in the first
    /// <paramref name="rejectingRounds"/> rounds and then the share γ drafts at a per-token <paramref name="alpha"/> accept.
    /// Returns each round's γ.</summary>
    private static List<int> DriveCatchingUp(int rounds, double plainMs, double verifyMs, Func<int, double> draftMs, double alpha, int rejectingRounds)
    {
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        var (choices, satOut) = (new List<int>(), 0);
        for (var round = 0; round < rounds; round++)
        {
            var gamma = controller.Next();
            choices.Add(gamma);
            if (gamma == 0)
            {
                satOut++;
                controller.Observe(0, 0, 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(plainMs));
                continue;
            }
            var catchUpMs = 0.02 * satOut;
            satOut = 0;
            var accepted = round < rejectingRounds ? 0 : (int)Math.Round(100 * gamma * AcceptanceMath.AcceptedShare(gamma, alpha));
            controller.Observe(gamma, 100 * gamma, accepted, TimeSpan.FromMilliseconds(catchUpMs + draftMs(gamma)), TimeSpan.FromMilliseconds(verifyMs));
        }
        return choices;
    }

    /// <summary>Runs <paramref name="rounds"/> rounds as <paramref name="controller"/> chooses them, 100 rows each: γ drafts a
    /// row, the share <paramref name="acceptance"/> accepted, <paramref name="draftMs"/> a draft and
    /// <paramref name="verifyMs"/>(γ) a verification. <paramref name="perToken"/>: the acceptance is each draft's, so a chain
    /// of γ accepts <see cref="AcceptanceMath.AcceptedShare"/> of its drafts. Returns each round's γ.</summary>
    private static List<int> Drive(GammaController controller, int rounds, double acceptance, Func<int, double> verifyMs, double draftMs = 0,
        bool perToken = false)
    {
        var choices = new List<int>();
        for (var round = 0; round < rounds; round++)
        {
            var gamma = controller.Next();
            choices.Add(gamma);
            var share = perToken && gamma > 0 ? AcceptanceMath.AcceptedShare(gamma, acceptance) : acceptance;
            controller.Observe(gamma, 100 * gamma, (int)Math.Round(100 * gamma * share), TimeSpan.FromMilliseconds(draftMs * gamma),
                TimeSpan.FromMilliseconds(verifyMs(gamma)));
        }
        return choices;
    }

    /// <summary>A controller fed rounds over γ = 0..8 (0: plain decoding, no drafts; left out with <paramref name="skipPlain"/>)
    /// with the given per-token acceptance (chains of γ accept <see cref="AcceptanceMath.AcceptedShare"/> of their drafts)
    /// and step times.</summary>
    private static GammaController Trained(double acceptance, double draftMs, Func<int, double> verifyMs, int rounds = 45, bool skipPlain = false)
    {
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        for (var round = 0; round < rounds; round++)
        {
            var gamma = skipPlain ? round % 8 + 1 : round % 9;
            var accepted = gamma == 0 ? 0 : (int)Math.Round(100 * gamma * AcceptanceMath.AcceptedShare(gamma, acceptance));
            controller.Observe(gamma, proposed: 100 * gamma, accepted, TimeSpan.FromMilliseconds(draftMs * gamma), TimeSpan.FromMilliseconds(verifyMs(gamma)));
        }
        return controller;
    }
}
