using System.Text.RegularExpressions;
using Condensa.Cli.Commands;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class ChatCommandTests
{
    [TestMethod]
    public async Task Chat_SecondTurn_AppendsToCacheInsteadOfPrefilling()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, output, error) = await CliRunner.RunWithInput("hello there\nand again\n/exit\n",
            "chat", "--model", checkpoint, "--max-tokens", "6", "--temperature", "0");
        Assert.AreEqual(0, exit, error);
        var turns = Regex.Matches(error, @"\[turn (\d+): fed (\d+) tokens \((appended|prefilled)\), generated (\d+).*cache (\d+) tokens\]");
        Assert.HasCount(2, turns);
        Assert.AreEqual("prefilled", turns[0].Groups[3].Value);
        Assert.AreEqual("appended", turns[1].Groups[3].Value);
        // Turn 2 extends turn 1's cache: it holds turn 1, the tokens fed in turn 2 and all but the last reply token.
        int Group(int turn, int group) => int.Parse(turns[turn].Groups[group].Value);
        Assert.AreEqual(Group(0, 5) + Group(1, 2) + Group(1, 4) - 1, Group(1, 5));
        Assert.IsFalse(string.IsNullOrWhiteSpace(output), "replies are printed");
    }

    [TestMethod]
    [DataRow("lookup")]
    [DataRow("self")]
    [DataRow("tree")]
    public async Task Chat_Speculative_SameRepliesAsPlainAndLaterTurnsAppend(string mode)
    {
        var checkpoint = CliRunner.Checkpoint();
        const string input = "hello there\nand again\n/exit\n";
        var plain = await CliRunner.RunWithInput(input, "chat", "--model", checkpoint, "--max-tokens", "6", "--temperature", "0");

        var (exit, output, error) = await CliRunner.RunWithInput(input, "chat", "--model", checkpoint, "--max-tokens", "6", "--temperature", "0",
            "--speculative", mode, "--sinks", "2", "--window", "8");

        Assert.AreEqual(0, exit, error);
        Assert.AreEqual(plain.Output, output, "greedy speculation gives plain decoding's replies");
        var turns = Turns(error);
        Assert.HasCount(2, turns);
        Assert.AreEqual("appended", turns[1].Groups[3].Value, error);
    }

    [TestMethod]
    public async Task Chat_Qwen3NoThink_SecondTurnPrefilledSinceHistoryIsRewritten()
    {
        var checkpoint = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", MaxPositionEmbeddings = 1024, Seed = 5 });
        var (exit, _, error) = await CliRunner.RunWithInput("hello there\nand again\n",
            "chat", "--model", checkpoint, "--template", "qwen3", "--no-think", "--max-tokens", "5", "--temperature", "0");
        Assert.AreEqual(0, exit, error);
        StringAssert.Contains(error, "(template qwen3)");
        var turns = Turns(error);
        Assert.HasCount(2, turns);
        // Qwen3 writes the last reply with a think block, then without it once the next user turn comes
        Assert.AreEqual("prefilled", turns[1].Groups[3].Value, error);
    }

    [TestMethod]
    public async Task Chat_Reset_PrefillsAgain()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, _, error) = await CliRunner.RunWithInput("one\n/reset\ntwo\n", "chat", "--model", checkpoint, "--max-tokens", "4");
        Assert.AreEqual(0, exit, error);
        Assert.AreEqual(2, Regex.Matches(error, @"\(prefilled\)").Count);
    }

    [TestMethod]
    [DataRow("llama2")]
    [DataRow("mistral")]
    [DataRow("llama3")]
    [DataRow("chatml")]
    [DataRow("zephyr")]
    public async Task Chat_EveryTemplate_LaterTurnsAppendToCache(string template)
    {
        // room for three turns of llama3's long headers, spelled out byte by byte by the tiny tokenizer
        var checkpoint = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", MaxPositionEmbeddings = 1024, Seed = 5 });
        var (exit, _, error) = await CliRunner.RunWithInput("hello there\nand again\nonce more\n",
            "chat", "--model", checkpoint, "--template", template, "--max-tokens", "5", "--temperature", "0");
        Assert.AreEqual(0, exit, error);
        var turns = Turns(error);
        Assert.HasCount(3, turns);
        Assert.AreEqual("prefilled", turns[0].Groups[3].Value);
        Assert.AreEqual("appended", turns[1].Groups[3].Value, error);
        Assert.AreEqual("appended", turns[2].Groups[3].Value, error);
    }

    [TestMethod]
    public async Task Chat_Interrupt_StopsTheReplyNotTheSession()
    {
        var checkpoint = CliRunner.Checkpoint();
        using var interrupts = ChatInterrupts.Manual();
        var output = new InterruptingWriter(interrupts);
        var error = new StringWriter();
        var exit = await CliApp.RunAsync(["chat", "--model", checkpoint, "--max-tokens", "6", "--temperature", "0"], output, error,
            input: new StringReader("hello there\nand again\n"), interrupts: interrupts);

        Assert.AreEqual(0, exit, error.ToString());
        Assert.AreEqual(1, Regex.Matches(error.ToString(), @"\(reply stopped\)").Count, error.ToString());
        var turns = Turns(error.ToString());
        Assert.HasCount(2, turns, error.ToString());
        Assert.AreEqual(1, Group(turns, 0, 4), "the first reply stops at the interrupt");
        Assert.AreEqual(6, Group(turns, 1, 4), "the second reply runs to --max-tokens");
        // The stopped reply stays in the conversation: turn 2 extends the cache turn 1 left.
        Assert.AreEqual("appended", turns[1].Groups[3].Value);
        Assert.AreEqual(Group(turns, 0, 5) + Group(turns, 1, 2) + Group(turns, 1, 4) - 1, Group(turns, 1, 5));
    }

    [TestMethod]
    public async Task Chat_ContextFull_NoticeThenDropsOldestTurnsAndGoesOn()
    {
        var checkpoint = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", MaxPositionEmbeddings = 96, Seed = 5 });
        var input = string.Concat(Enumerable.Range(1, 6).Select(i => $"message number {i}\n"));
        var (exit, _, error) = await CliRunner.RunWithInput(input, "chat", "--model", checkpoint, "--max-tokens", "8", "--temperature", "0");

        Assert.AreEqual(0, exit, error);
        var turns = Turns(error);
        Assert.HasCount(6, turns, error);
        StringAssert.Contains(error, "(context full: 96 tokens; dropped the oldest");
        Assert.IsTrue(turns.All(t => int.Parse(t.Groups[5].Value) <= 96), error);
    }

    [TestMethod]
    public async Task Chat_MessageLongerThanContext_ErrorThenTheSessionGoesOn()
    {
        var checkpoint = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", MaxPositionEmbeddings = 64, Seed = 5 });
        var (exit, _, error) = await CliRunner.RunWithInput($"hi\n{new string('z', 300)}\nhi again\n",
            "chat", "--model", checkpoint, "--max-tokens", "4", "--temperature", "0");

        Assert.AreEqual(0, exit, error);
        Assert.AreEqual(1, Regex.Matches(error, "error: message too long").Count, error);
        var turns = Turns(error);
        Assert.HasCount(2, turns, error);
        Assert.AreEqual("appended", turns[1].Groups[3].Value, "the rejected message left the conversation as it was");
    }

    [TestMethod]
    public async Task Chat_BeforeEachLine_WritesTheInputMarkerOnStderr()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, output, error) = await CliRunner.RunWithInput("one\ntwo\n", "chat", "--model", checkpoint, "--max-tokens", "2");

        Assert.AreEqual(0, exit, error);
        // two lines read, then end of input
        Assert.AreEqual(3, Regex.Matches(error, "^" + Regex.Escape(ChatCommand.InputMarker), RegexOptions.Multiline).Count, error);
        Assert.DoesNotContain(ChatCommand.InputMarker, output);
    }

    [TestMethod]
    public async Task Chat_UnknownTemplate_NamesIt()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, _, error) = await CliRunner.RunWithInput("hi\n", "chat", "--model", checkpoint, "--template", "vicuna");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "vicuna");
    }

    private static MatchCollection Turns(string error) =>
        Regex.Matches(error, @"\[turn (\d+): fed (\d+) tokens \((appended|prefilled)\), generated (\d+).*cache (\d+) tokens\]");

    private static int Group(MatchCollection turns, int turn, int group) => int.Parse(turns[turn].Groups[group].Value);

    /// <summary>Raises an interrupt at the first piece of reply text, as Ctrl+C pressed while the first reply streams.</summary>
    private sealed class InterruptingWriter(ChatInterrupts interrupts) : StringWriter
    {
        private bool _raised;

        public override Task WriteAsync(string? value)
        {
            if (!_raised) _raised = interrupts.Raise();
            return base.WriteAsync(value);
        }
    }
}
