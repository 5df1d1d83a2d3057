using System.Text;
using System.Text.RegularExpressions;

namespace Condensa.Cli.Extraction;

/// <summary>
/// The <c>--prompt-template</c> file: text with <c>{{field}}</c> placeholders filled from each input record
/// (JSONL fields by name; a folder's files give <c>{{id}}</c> and <c>{{text}}</c>). Nothing else is interpreted, so a
/// document containing braces is inserted as is.
/// </summary>
internal sealed partial class PromptTemplate
{
    private readonly string _path;
    private readonly string _text;
    private readonly MatchCollection _placeholders;

    private PromptTemplate(string path, string text)
    {
        _path = path;
        _text = text;
        _placeholders = Placeholder().Matches(text);
        if (_placeholders.Count == 0)
            throw new ArgumentException($"{path}: the prompt template has no {{{{field}}}} placeholder (e.g. {{{{text}}}}), so every document would get the same prompt.");
    }

    /// <summary>Field names the template uses.</summary>
    public IEnumerable<string> Fields => _placeholders.Select(m => m.Groups[1].Value).Distinct();

    public static PromptTemplate Load(string path)
    {
        return new PromptTemplate(path, TextFiles.ReadUtf8(path, "prompt template file"));
    }

    /// <summary>The prompt for one record, or an error naming the field it lacks.</summary>
    public (string? Prompt, string? Error) Render(IReadOnlyDictionary<string, string> fields)
    {
        var prompt = new StringBuilder(_text.Length + 1024);
        var end = 0;
        foreach (Match m in _placeholders)
        {
            var name = m.Groups[1].Value;
            if (!fields.TryGetValue(name, out var value))
                return (null, $"field \"{name}\" used by the prompt template {_path} is missing.");
            prompt.Append(_text, end, m.Index - end).Append(value);
            end = m.Index + m.Length;
        }
        prompt.Append(_text, end, _text.Length - end);
        return (prompt.ToString(), null);
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")]
    private static partial Regex Placeholder();
}
