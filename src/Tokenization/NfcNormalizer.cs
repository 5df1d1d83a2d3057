using System.Text;
using Microsoft.ML.Tokenizers;

namespace Condensa.Tokenization;

/// <summary>Unicode NFC normalization, the "NFC" normalizer of a tokenizer.json (Qwen2).</summary>
internal sealed class NfcNormalizer : Normalizer
{
    public static readonly NfcNormalizer Instance = new();

    public override string Normalize(string original) => original.Normalize(NormalizationForm.FormC);

    public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Normalize(NormalizationForm.FormC);
}
