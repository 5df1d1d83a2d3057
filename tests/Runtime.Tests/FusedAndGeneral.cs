namespace Condensa.Runtime.Tests;

/// <summary>An export loaded twice, with its attention graphs forced on and with the general graph alone
/// (<see cref="AttentionGraphSettings"/>), each over a cache of its own with the same options, and the pair that gives both
/// the same passes (<see cref="PassPair"/>: the general graph's logits are the reference).</summary>
internal sealed class FusedAndGeneral : IDisposable
{
    public FusedAndGeneral(string export, int batch, KvCacheOptions? options = null, float tolerance = 1e-4f)
    {
        Fused = DecoderModel.Load(export, AttentionGraphSettings.Fused);
        General = DecoderModel.Load(export, AttentionGraphSettings.General);
        FusedCache = Fused.CreateCache(batch, options);
        GeneralCache = General.CreateCache(batch, options);
        Passes = new PassPair(General, GeneralCache, Fused, FusedCache, tolerance);
    }

    public DecoderModel Fused { get; }
    public DecoderModel General { get; }
    public KvCache FusedCache { get; }
    public KvCache GeneralCache { get; }
    public PassPair Passes { get; }

    public void Dispose()
    {
        FusedCache.Dispose();
        GeneralCache.Dispose();
        Fused.Dispose();
        General.Dispose();
    }
}
