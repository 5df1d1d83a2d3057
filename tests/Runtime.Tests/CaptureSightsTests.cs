using Condensa.Runtime.Capture;

namespace Condensa.Runtime.Tests;

/// <summary>Which pass shapes are captured as CUDA graphs, by how often they recur over one set of buffers
/// (<see cref="CaptureSights"/>, <c>CONDENSA_CAPTURE_AFTER</c>).</summary>
[TestClass]
public sealed class CaptureSightsTests
{
    private static readonly (int, int, int, bool) Step = (32, 1, 1, true), Verify = (32, 4, 4, true);
    private static readonly (int, int) Buffers = (1024, 0), Regrown = (2048, 1);

    [TestMethod]
    public void Ready_ByDefault_CapturesEveryShapeAtOnce()
    {
        var sights = new CaptureSights(1);
        Assert.IsTrue(sights.Ready(Step, Buffers));
        Assert.IsTrue(sights.Ready(Verify, Buffers));
    }

    [TestMethod]
    public void Ready_AfterThree_CapturesAShapeOnItsThirdPassOverTheSameBuffers()
    {
        var sights = new CaptureSights(3);
        Assert.IsFalse(sights.Ready(Step, Buffers));
        Assert.IsFalse(sights.Ready(Verify, Buffers), "another shape counts apart");
        Assert.IsFalse(sights.Ready(Step, Buffers));
        Assert.IsTrue(sights.Ready(Step, Buffers), "the third step");
        Assert.IsTrue(sights.Ready(Step, Buffers), "and every one after it");
        Assert.IsFalse(sights.Ready(Verify, Buffers), "the probe's second verification still runs uncaptured");

        Assert.IsFalse(sights.Ready(Step, Regrown), "regrown buffers retire every graph: the counts start over");
        Assert.IsFalse(sights.Ready(Step, Regrown));
        Assert.IsTrue(sights.Ready(Step, Regrown));
    }

    [TestMethod]
    [DataRow(null, 1)]
    [DataRow("", 1)]
    [DataRow(" 3 ", 3)]
    public void AfterFrom_TheVariable(string? value, int after) => Assert.AreEqual(after, CaptureSights.AfterFrom(value));

    [TestMethod]
    [DataRow("0")]
    [DataRow("-2")]
    [DataRow("two")]
    public void AfterFrom_NotAWholeNumberFromOne_NamesTheVariableAndValue(string value)
    {
        var error = Assert.ThrowsExactly<CondensaException>(() => CaptureSights.AfterFrom(value));
        StringAssert.Contains(error.Message, $"CONDENSA_CAPTURE_AFTER='{value}'");
    }
}
