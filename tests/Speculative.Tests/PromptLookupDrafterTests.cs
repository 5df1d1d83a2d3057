namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class PromptLookupDrafterTests
{
    [TestMethod]
    [DataRow(new[] { 5, 6, 7, 8, 9, 1, 6, 7 }, 3, new[] { 8, 9, 1 })]      // bigram "6 7" seen before: its followers
    [DataRow(new[] { 1, 2, 9, 1, 3, 9, 1 }, 2, new[] { 3, 9 })]            // latest occurrence of "9 1" wins
    [DataRow(new[] { 4, 2, 3, 9, 2, 3 }, 4, new[] { 9, 2, 3, 9 })]         // past the sequence end the copy repeats itself
    [DataRow(new[] { 1, 7, 7 }, 4, new[] { 7, 7, 7, 7 })]                  // a run of one token, as deep as asked
    [DataRow(new[] { 1, 2, 3, 4 }, 3, new int[0])]                         // nothing repeats
    public void Lookup_LongestLatestMatch_ProposesItsContinuation(int[] tokens, int gamma, int[] expected)
    {
        var draft = new int[gamma];
        var n = new PromptLookupDrafter(maxNgram: 3).Lookup(tokens, gamma, draft);
        CollectionAssert.AreEqual(expected, draft[..n]);
    }

    [TestMethod]
    public void Lookup_PrefersLongerNgram()
    {
        // "3" alone last followed 7 (at index 5), but the trigram "1 2 3" last followed 4.
        int[] tokens = [1, 2, 3, 4, 0, 3, 7, 1, 2, 3];
        var draft = new int[1];
        var n = new PromptLookupDrafter(maxNgram: 3).Lookup(tokens, 1, draft);
        Assert.AreEqual(1, n);
        Assert.AreEqual(4, draft[0]);
    }
}
