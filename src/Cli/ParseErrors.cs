using System.CommandLine;
using System.CommandLine.Parsing;

namespace Condensa.Cli;

/// <summary>
/// Command-line mistakes as one line each, in the CLI's words: System.CommandLine's own report prints the whole help after
/// the error and names a value it cannot convert by its .NET type (<c>System.Nullable`1[System.Int32]</c>).
/// </summary>
internal static class ParseErrors
{
    /// <summary>The distinct errors of <paramref name="parse"/>, one line each, ending with where the help is.</summary>
    public static IReadOnlyList<string> Lines(ParseResult parse)
    {
        var lines = parse.Errors.Select(Describe).Distinct().Select(e => $"error: {e}").ToList();
        lines[^1] += $" (see '{CommandPath(parse)} --help')";
        return lines;
    }

    /// <summary>One error; a value that does not convert to its option's type is named with the type in words.</summary>
    public static string Describe(ParseError error)
    {
        // System.CommandLine's conversion error is the only one that quotes the option's value type.
        if (error.SymbolResult is OptionResult { Option: var option, Tokens: [.., var token] }
            && error.Message.Contains($"'{option.ValueType}'", StringComparison.Ordinal))
            return $"{option.Name} '{token.Value}' is not {Kind(option.ValueType)}.";
        return error.Message;
    }

    private static string Kind(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum) return "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()));
        return Type.GetTypeCode(type) switch
        {
            TypeCode.Int32 or TypeCode.Int64 or TypeCode.Int16 => "a whole number",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
            TypeCode.Boolean => "true or false",
            _ => $"a valid {type.Name} value",
        };
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (SymbolResult? s = parse.CommandResult; s is CommandResult c; s = c.Parent) names.Add(c.Command.Name);
        names[^1] = "condensa";   // the root command is named after the executable
        names.Reverse();
        return string.Join(' ', names);
    }
}
