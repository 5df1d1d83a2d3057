namespace Condensa.Speculative;

/// <summary>
/// The row a draining batch waits for. With no document left to take a finished row's place, a batch is done when its
/// last row is, so a round's drafts are worth what they gain that row, not the rows' tokens together: the row whose
/// tokens left over its expected tokens a round are the most. A row's rate is its accepted share shrunk toward the
/// batch's by how much the rows' shares differ beyond what chance gives (empirical Bayes: where every row drafts alike,
/// the row that lags lags by luck, and its share says nothing of its next rounds), and by how few rounds it has drafted:
/// a row judged on a few unlucky rounds would hold the batch to plain decoding, with no drafts to show otherwise.
/// </summary>
internal static class BatchBottleneck
{
    // Rounds of drafts a row's share counts half after, however much the rows differ.
    private const int HalfWeightRounds = 8;

    /// <summary>
    /// The accepted share expected of the bottleneck row's drafts at about <paramref name="gamma"/>, and the most tokens
    /// any active row has left over that row's (at least 1), from each active row's tokens left (<paramref name="room"/>)
    /// and its drafts so far; null where no row has drafted yet.
    /// </summary>
    public static (double Share, double RoomRatio)? Find(ReadOnlySpan<int> room, ReadOnlySpan<int> proposed, ReadOnlySpan<int> accepted,
        ReadOnlySpan<bool> active, int gamma)
    {
        var (drafted, kept, rows, mostRoom) = (0L, 0L, 0, 0);
        for (var b = 0; b < active.Length; b++)
        {
            if (!active[b]) continue;
            mostRoom = Math.Max(mostRoom, room[b]);
            if (proposed[b] == 0) continue;
            (drafted, kept, rows) = (drafted + proposed[b], kept + accepted[b], rows + 1);
        }
        if (drafted == 0 || mostRoom == 0) return null;
        var batchShare = (double)kept / drafted;
        // A share's variance by chance, over one draft: a chain's drafts stand or fall together (a rejection ends it, and
        // prompt lookup's copies hold for a stretch or not at all), so a row's share varies as if each round's γ drafts
        // were one draw, γ times a lone draft's variance: taken smaller, chance would pass for rows that differ.
        var chance = gamma * batchShare * (1 - batchShare);
        var (spread, noise) = (0.0, 0.0);
        for (var b = 0; b < active.Length; b++)
        {
            if (!active[b] || proposed[b] == 0) continue;
            var deviation = (double)accepted[b] / proposed[b] - batchShare;
            (spread, noise) = (spread + deviation * deviation, noise + chance / proposed[b]);
        }
        var between = Math.Max(0, (spread - noise) / rows);   // the rows' own shares' variance, chance taken out
        var (worst, share, worstRoom) = (-1.0, batchShare, mostRoom);
        for (var b = 0; b < active.Length; b++)
        {
            if (!active[b] || room[b] == 0) continue;
            var own = batchShare;
            if (proposed[b] > 0 && between > 0)
            {
                var weight = between / (between + chance / proposed[b]) * proposed[b] / (proposed[b] + HalfWeightRounds * gamma);
                own += weight * ((double)accepted[b] / proposed[b] - batchShare);
            }
            var rounds = room[b] / (1 + gamma * own);   // rounds it needs at about this γ
            if (rounds > worst) (worst, share, worstRoom) = (rounds, own, room[b]);
        }
        return (share, (double)mostRoom / worstRoom);
    }
}
