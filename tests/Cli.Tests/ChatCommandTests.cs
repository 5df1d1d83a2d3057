using System.Text.RegularExpressions;

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
    public async Task Chat_Reset_PrefillsAgain()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, _, error) = await CliRunner.RunWithInput("one\n/reset\ntwo\n", "chat", "--model", checkpoint, "--max-tokens", "4");
        Assert.AreEqual(0, exit, error);
        Assert.AreEqual(2, Regex.Matches(error, @"\(prefilled\)").Count);
    }

    [TestMethod]
    public async Task Chat_UnknownTemplate_NamesIt()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, _, error) = await CliRunner.RunWithInput("hi\n", "chat", "--model", checkpoint, "--template", "vicuna");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "vicuna");
    }
}
