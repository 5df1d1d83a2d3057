using System.Globalization;

namespace Condensa.Export;

/// <summary>
/// LCKV's <c>layer_types</c> (Wu &amp; Tu 2024): underscore-separated layer indices, entry i naming the layer
/// whose KV layer i attends to, each optionally suffixed <c>s</c> for a sliding window. The one string expresses
/// LCKV (<c>0_6_6_6_6_6_6_7</c>), cross-layer attention (<c>0_0_2_2</c>), YOCO-style and sandwich configs.
/// The stored, pending and cyclic-block sets are the runtime's too: <see cref="LayerCondensation"/> derives them.
/// </summary>
public sealed record LayerTypes
{
    /// <summary>Entry i: the layer whose KV layer i reads.</summary>
    public required IReadOnlyList<int> Sources { get; init; }

    /// <summary>Entry i: layer i attends within the sliding window (<c>s</c> suffix).</summary>
    public required IReadOnlyList<bool> Sliding { get; init; }

    /// <summary>Parses <paramref name="text"/> for a model of <paramref name="numLayers"/> layers.</summary>
    /// <param name="text">The layer_types string, e.g. "0_6_6s_7".</param>
    /// <param name="numLayers">num_hidden_layers.</param>
    /// <param name="source">Names the file in error messages.</param>
    /// <exception cref="ExportException">Wrong length, a layer index out of range, or a bad suffix.</exception>
    public static LayerTypes Parse(string text, int numLayers, string source = "config.json")
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] tokens = text.Split('_');
        if (tokens.Length != numLayers)
            throw new ExportException(
                $"{source}: field 'layer_types' \"{text}\" has {tokens.Length} entries; num_hidden_layers is {numLayers}.");
        var sources = new int[numLayers];
        var sliding = new bool[numLayers];
        for (int i = 0; i < numLayers; i++)
        {
            string token = tokens[i];
            sliding[i] = token.EndsWith('s');
            string digits = sliding[i] ? token[..^1] : token;
            if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
                throw new ExportException(
                    $"{source}: field 'layer_types' entry {i} '{token}' is not a layer index with an optional 's' (sliding window) suffix.");
            if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out sources[i]) || sources[i] >= numLayers)
                throw new ExportException(
                    $"{source}: field 'layer_types' entry {i} '{token}' names layer {digits}, outside 0..{numLayers - 1}.");
        }
        return new LayerTypes { Sources = sources, Sliding = sliding };
    }
}
