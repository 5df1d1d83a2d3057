namespace Condensa.Tokenization;

/// <summary>
/// Finds added tokens (special tokens such as &lt;|im_start|&gt;) written in text, leftmost first and the
/// longest where several start at one place, as Hugging Face tokenizers match them before the model runs.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, (string Content, int Id)[]> _byFirstChar;   // longest first

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens
            .Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).Select(t => (t.Content, t.Id)).ToArray());
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Calls onText for each stretch of plain text and onToken for each added token, in order.</summary>
    public void Split(string text, Action<string> onText, Action<int> onToken)
    {
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (!_byFirstChar.TryGetValue(text[i], out var candidates))
                continue;
            foreach (var (content, id) in candidates)
            {
                if (string.CompareOrdinal(text, i, content, 0, content.Length) != 0)
                    continue;
                if (i > start)
                    onText(text[start..i]);
                onToken(id);
                i += content.Length - 1;
                start = i + 1;
                break;
            }
        }
        if (start < text.Length)
            onText(text[start..]);
    }
}
