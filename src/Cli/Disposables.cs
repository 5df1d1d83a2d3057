namespace Condensa.Cli;

/// <summary>Disposes what a command loaded beside its model (a draft model, a speculative step), newest first, so a
/// drafter's cache goes before the model it belongs to.</summary>
internal sealed class Disposables(List<IDisposable> items) : IDisposable
{
    public void Dispose()
    {
        for (var i = items.Count - 1; i >= 0; i--) items[i].Dispose();
    }
}
