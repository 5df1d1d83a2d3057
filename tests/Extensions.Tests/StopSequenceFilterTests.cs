using Condensa.Extensions.AI;

namespace Condensa.Extensions.Tests;

[TestClass]
public sealed class StopSequenceFilterTests
{
    [TestMethod]
    [DataRow(new[] { "xa", "b", "zz" }, "x", true, DisplayName = "stop split over two pieces")]
    [DataRow(new[] { "xa", "c" }, "xac", false, DisplayName = "a held prefix that goes nowhere is released")]
    [DataRow(new[] { "hello" }, "hello", false, DisplayName = "no stop")]
    [DataRow(new[] { "q", "ab" }, "q", true, DisplayName = "stop at the start of a piece")]
    [DataRow(new[] { "END here" }, "", true, DisplayName = "second stop sequence, first thing said")]
    public void Append_Pieces_ReleaseTextBeforeTheFirstStop(string[] pieces, string expected, bool stopped)
    {
        var filter = new StopSequenceFilter(["ab", "END"]);
        var text = string.Concat(pieces.Select(filter.Append)) + filter.Flush();
        Assert.AreEqual(expected, text);
        Assert.AreEqual(stopped, filter.Stopped);
    }

    [TestMethod]
    public void Append_PossibleStopPrefix_IsHeldUntilDecided()
    {
        var filter = new StopSequenceFilter(["abc"]);
        Assert.AreEqual("x", filter.Append("xab"));
        Assert.AreEqual("", filter.Append(""));
        Assert.AreEqual("abd", filter.Append("d"));
        Assert.AreEqual("", filter.Append("a"));   // may start "abc"
        Assert.AreEqual("a", filter.Flush());
    }
}
