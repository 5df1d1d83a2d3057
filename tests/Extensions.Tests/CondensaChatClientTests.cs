using Condensa.Extensions.AI;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Speculative;
using Condensa.Tokenization;
using Microsoft.Extensions.AI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Condensa.Extensions.Tests;

[TestClass]
public sealed class CondensaChatClientTests
{
    private static CondensaChatClient _client = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void LoadModel(TestContext _) =>
        _client = CondensaChatClient.Load(TinyChatModel.ExportDir, new CondensaChatClientOptions { MaxOutputTokens = 24, Session = new SessionSettings { IntraOpThreads = 1 } });

    [ClassCleanup]
    public static void DisposeModel() => _client.Dispose();

    private static AiChatMessage[] Ask(string text) => [new(ChatRole.User, text)];

    [TestMethod]
    public async Task GetStreamingResponseAsync_Greedy_StreamsWhatTheGeneratorMakesOfTheTemplatedPrompt()
    {
        // expected: the Zephyr prompt through the tokenizer, generated greedily, decoded up to the EOS
        var model = (IDecoder)_client.GetService(typeof(IDecoder))!;
        var tokenizer = (CheckpointTokenizer)_client.GetService(typeof(CheckpointTokenizer))!;
        var template = (ChatTemplate)_client.GetService(typeof(ChatTemplate))!;
        Assert.AreEqual("zephyr", template.Name);
        var prompt = tokenizer.Encode(template.Render([Tokenization.ChatMessage.User("the cat sat")], addGenerationPrompt: true), addBos: false);
        var stops = tokenizer.EosTokenIds.Concat(model.Manifest.EosTokenIds).Distinct().ToArray();
        var tokens = new List<int>();
        await foreach (var t in new Generator(model).StreamAsync(prompt, new GenerationOptions { MaxNewTokens = 24, StopTokenIds = stops },
                           cancellationToken: TestContext.CancellationToken))
            tokens.Add(t);
        var expected = tokenizer.Decode(tokens.Where(t => !stops.Contains(t)));

        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in _client.GetStreamingResponseAsync(Ask("the cat sat"), cancellationToken: TestContext.CancellationToken)) updates.Add(u);

        Assert.AreEqual(expected, string.Concat(updates.Select(u => u.Text)));
        Assert.IsGreaterThan(2, updates.Count(u => u.Text.Length > 0), "the reply arrives in pieces, not at the end");
        Assert.IsTrue(updates.All(u => u.Role == ChatRole.Assistant && u.ResponseId == updates[0].ResponseId));
        var response = await _client.GetResponseAsync(Ask("the cat sat"), cancellationToken: TestContext.CancellationToken);
        Assert.AreEqual(expected, response.Text);
        Assert.AreEqual(prompt.Count, response.Usage!.InputTokenCount);
        Assert.AreEqual(tokens.Count, response.Usage.OutputTokenCount);
        Assert.AreEqual(stops.Contains(tokens[^1]) ? ChatFinishReason.Stop : ChatFinishReason.Length, response.FinishReason);
    }

    [TestMethod]
    [DataRow("lookup", false, false)]
    [DataRow("self", false, false)]
    [DataRow("self", true, false)]
    [DataRow("self", false, true)]   // drafted by the checkpoint's float16 export
    public async Task GetResponseAsync_Speculative_SameReplyAsPlainDecoding(string mode, bool tree, bool halfDrafter)
    {
        var model = (IDecoder)_client.GetService(typeof(IDecoder))!;
        var tokenizer = (CheckpointTokenizer)_client.GetService(typeof(CheckpointTokenizer))!;
        var template = (ChatTemplate)_client.GetService(typeof(ChatTemplate))!;
        // a small self-speculation budget, so the draft really reads less than the target
        var speculation = new SpeculationOptions { Mode = Enum.Parse<SpeculationMode>(mode, ignoreCase: true), Tree = tree, Sinks = 2, Window = 8 };
        using var drafter = halfDrafter ? DecoderModel.Load(TinyChatModel.HalfExportDir) : null;
        using var speculative = new CondensaChatClient(model, tokenizer, template,
            new CondensaChatClientOptions { MaxOutputTokens = 24, Speculation = speculation, DraftModel = drafter });

        foreach (var question in new[] { "the cat sat", "in the morning the" })
        {
            var plain = await _client.GetResponseAsync(Ask(question), cancellationToken: TestContext.CancellationToken);
            var reply = await speculative.GetResponseAsync(Ask(question), cancellationToken: TestContext.CancellationToken);
            Assert.AreEqual(plain.Text, reply.Text, question);
            Assert.AreEqual(plain.Usage!.OutputTokenCount, reply.Usage!.OutputTokenCount, question);
        }
        if (drafter is not null) Assert.IsGreaterThan(0, drafter.PassShapes, "the float16 export ran the drafts");
    }

    [TestMethod]
    public async Task GetResponseAsync_MaxOutputTokens_CapsTheReply()
    {
        var response = await _client.GetResponseAsync(Ask("hello there"), new ChatOptions { MaxOutputTokens = 5 }, TestContext.CancellationToken);
        if (response.FinishReason == ChatFinishReason.Length) Assert.AreEqual(5, response.Usage!.OutputTokenCount);
        else Assert.IsLessThanOrEqualTo(5, response.Usage!.OutputTokenCount!.Value);
    }

    [TestMethod]
    public async Task GetStreamingResponseAsync_CancelledMidStream_ThrowsAndTheModelStaysUsable()
    {
        var before = (await _client.GetResponseAsync(Ask("in the morning"), cancellationToken: TestContext.CancellationToken)).Text;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken);
        var received = 0;
        await Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var u in _client.GetStreamingResponseAsync(Ask("in the morning"), new ChatOptions { MaxOutputTokens = 200 }, cts.Token))
                if (u.Text.Length > 0 && ++received == 1) cts.Cancel();
        });
        Assert.AreEqual(1, received, "nothing arrives after the cancellation");
        var after = (await _client.GetResponseAsync(Ask("in the morning"), cancellationToken: TestContext.CancellationToken)).Text;
        Assert.AreEqual(before, after);
    }

    [TestMethod]
    public async Task GetResponseAsync_TokenAlreadyCancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => _client.GetResponseAsync(Ask("hi"), cancellationToken: cts.Token));
    }

    [TestMethod]
    public async Task GetStreamingResponseAsync_StopSequence_ReplyEndsBeforeIt()
    {
        var full = (await _client.GetResponseAsync(Ask("once upon a time"), cancellationToken: TestContext.CancellationToken)).Text;
        Assert.IsGreaterThanOrEqualTo(8, full.Length, full);
        var stop = full.Substring(full.Length / 2, 3);
        var expected = full[..full.IndexOf(stop, StringComparison.Ordinal)];

        var options = new ChatOptions { StopSequences = [stop] };
        var streamed = new List<string>();
        ChatFinishReason? finish = null;
        await foreach (var u in _client.GetStreamingResponseAsync(Ask("once upon a time"), options, TestContext.CancellationToken))
        {
            streamed.Add(u.Text);
            finish ??= u.FinishReason;
        }
        Assert.AreEqual(expected, string.Concat(streamed));
        Assert.AreEqual(ChatFinishReason.Stop, finish);
    }

    [TestMethod]
    public async Task GetResponseAsync_SeededSampling_SameSeedSameText()
    {
        ChatOptions Options(long seed) => new() { Temperature = 1.5f, Seed = seed };
        var greedy = (await _client.GetResponseAsync(Ask("a b c"), cancellationToken: TestContext.CancellationToken)).Text;
        var a = (await _client.GetResponseAsync(Ask("a b c"), Options(1), TestContext.CancellationToken)).Text;
        var b = (await _client.GetResponseAsync(Ask("a b c"), Options(1), TestContext.CancellationToken)).Text;
        var others = new List<string>();
        for (var seed = 2; seed < 5; seed++) others.Add((await _client.GetResponseAsync(Ask("a b c"), Options(seed), TestContext.CancellationToken)).Text);

        Assert.AreEqual(a, b);
        Assert.IsTrue(others.Append(greedy).Any(t => t != a), "temperature and seed reach the sampler");
    }

    [TestMethod]
    public async Task GetResponseAsync_ConcurrentCallsOnOneModel_EqualSequentialCalls()
    {
        string[] questions = ["one", "two two", "three three three", "four", "five five", "six", "seven seven", "eight"];
        ChatOptions Options(int i) => new() { Temperature = i % 2 == 0 ? 0f : 1.2f, Seed = i };
        var sequential = new List<string>();
        for (var i = 0; i < questions.Length; i++)
            sequential.Add((await _client.GetResponseAsync(Ask(questions[i]), Options(i), TestContext.CancellationToken)).Text);

        using var start = new ManualResetEventSlim();
        var tasks = questions.Select((q, i) => Task.Run(async () =>
        {
            start.Wait(TestContext.CancellationToken);
            return (await _client.GetResponseAsync(Ask(q), Options(i), TestContext.CancellationToken)).Text;
        })).ToArray();
        start.Set();
        var concurrent = await Task.WhenAll(tasks);

        CollectionAssert.AreEqual(sequential, concurrent);
        Assert.IsGreaterThan(1, sequential.Distinct().Count());
    }

    [TestMethod]
    public async Task GetResponseAsync_Instructions_EqualALeadingSystemMessage()
    {
        var viaOptions = await _client.GetResponseAsync(Ask("hi"), new ChatOptions { Instructions = "be brief" }, TestContext.CancellationToken);
        var viaMessage = await _client.GetResponseAsync([new(ChatRole.System, "be brief"), new(ChatRole.User, "hi")],
            cancellationToken: TestContext.CancellationToken);
        Assert.AreEqual(viaMessage.Text, viaOptions.Text);
        Assert.AreEqual(viaMessage.Usage!.InputTokenCount, viaOptions.Usage!.InputTokenCount);
    }

    [TestMethod]
    public async Task GetResponseAsync_ToolRole_ErrorNamesTheMessageAndRole()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            _client.GetResponseAsync([new(ChatRole.User, "hi"), new(ChatRole.Tool, "42")], cancellationToken: TestContext.CancellationToken));
        StringAssert.Contains(e.Message, "Message 1 has role 'tool'");
    }

    [TestMethod]
    public void GetService_Metadata_NamesProviderAndModel()
    {
        var metadata = (ChatClientMetadata)_client.GetService(typeof(ChatClientMetadata))!;
        Assert.AreEqual("condensa", metadata.ProviderName);
        Assert.AreEqual("export", metadata.DefaultModelId);
        Assert.AreSame(_client, _client.GetService(typeof(IChatClient)));
        Assert.IsNull(_client.GetService(typeof(IChatClient), "some key"));
        Assert.IsInstanceOfType<DecoderModel>(_client.GetService(typeof(DecoderModel)));
    }
}
