namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class BatchBottleneckTests
{
    private static readonly bool[] Four = [true, true, true, true];

    [TestMethod]
    public void Find_NoDraftsYet_Null() =>
        Assert.IsNull(BatchBottleneck.Find([10, 10, 10, 10], [0, 0, 0, 0], [0, 0, 0, 0], Four, gamma: 4));

    [TestMethod]
    public void Find_RowsApartOverManyRounds_TheSlowRowsShare()
    {
        // 50 rounds of γ = 4: three rows accept 90 % of their drafts, one 10 %; the slow row has the most left
        var found = BatchBottleneck.Find([100, 100, 100, 180], [200, 200, 200, 200], [180, 180, 180, 20], Four, gamma: 4);
        Assert.IsNotNull(found);
        Assert.IsLessThan(0.25, found.Value.Share, $"{found}: near 10 %, far from the batch's 70 %");
        Assert.AreEqual(1.0, found.Value.RoomRatio);
    }

    [TestMethod]
    public void Find_RowsAlikeButOneUnlucky_TheBatchsShare()
    {
        // the shares differ by what chance gives chains of γ = 4 over 10 rounds: the row that lags lagged by luck
        var found = BatchBottleneck.Find([60, 62, 61, 70], [40, 40, 40, 40], [30, 32, 31, 24], Four, gamma: 4);
        Assert.IsNotNull(found);
        Assert.AreEqual(117.0 / 160, found.Value.Share, 1e-9);
    }

    [TestMethod]
    public void Find_AFewUnluckyRounds_ShareHeldNearTheBatchs()
    {
        // rows apart (one copies everything), and one row accepted 1 of 46 drafts in five rounds: on so little it is not
        // priced as hopeless (it would keep the batch on plain decoding, with no drafts to show otherwise)
        var found = BatchBottleneck.Find([459, 495, 493, 488, 493, 501, 487, 489], [46, 46, 46, 46, 46, 46, 46, 46], [43, 7, 9, 14, 9, 1, 15, 13],
            [true, true, true, true, true, true, true, true], gamma: 9);
        Assert.IsNotNull(found);
        Assert.IsGreaterThan(0.2, found.Value.Share, $"{found}");
    }

    [TestMethod]
    public void Find_ARowFarAheadButSlow_RoomRatioAgainstTheRowWithTheMostLeft()
    {
        // row 0 has half the tokens left of row 1 but accepts nothing, row 1 everything: at γ = 4 row 0 needs 100 rounds, row 1
        // 40, so the batch waits for row 0, which has 100 tokens left against row 1's 200
        var found = BatchBottleneck.Find([100, 200], [400, 400], [0, 400], [true, true], gamma: 4);
        Assert.IsNotNull(found);
        Assert.AreEqual(2.0, found.Value.RoomRatio);
        Assert.IsLessThan(0.1, found.Value.Share);
    }
}
