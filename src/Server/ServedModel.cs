using Condensa.Runtime;
using Condensa.Tokenization;

namespace Condensa.Server;

/// <summary>The one model a server answers for: its id (what clients put in "model"), weights, tokenizer and chat template.
/// The caller keeps ownership of <paramref name="Model"/>.</summary>
public sealed record ServedModel(string Id, IDecoder Model, CheckpointTokenizer Tokenizer, ChatTemplate Template)
{
    /// <summary>Tokens that end a reply: the tokenizer's end-of-turn tokens and the manifest's EOS.</summary>
    public IReadOnlyList<int> StopTokenIds { get; } = Tokenizer.StopTokenIds(Model.Manifest.EosTokenIds);
}
