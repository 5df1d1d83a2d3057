using System.CommandLine;
using System.Globalization;

namespace Condensa.Cli.Commands;

/// <summary>
/// Range checks on numeric options, reported while parsing as one line naming the option and its value
/// (e.g. <c>--max-tokens 0 must be at least 1.</c>) instead of a library's exception with a property name.
/// </summary>
internal static class OptionRules
{
    /// <summary>The value must be at least <paramref name="min"/>.</summary>
    public static Option<T> AtLeast<T>(this Option<T> option, double min) =>
        option.Rule(x => x >= min, $"must be at least {Format(min)}");

    /// <summary>The value must lie in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<T> Between<T>(this Option<T> option, double min, double max) =>
        option.Rule(x => x >= min && x <= max, $"must be between {Format(min)} and {Format(max)}");

    /// <summary>The value must be above <paramref name="min"/> and at most <paramref name="max"/>.</summary>
    public static Option<T> AboveAndAtMost<T>(this Option<T> option, double min, double max) =>
        option.Rule(x => x > min && x <= max, $"must be above {Format(min)} and at most {Format(max)}");

    /// <summary>The value must be at least <paramref name="min"/> and below <paramref name="max"/>.</summary>
    public static Option<T> AtLeastAndBelow<T>(this Option<T> option, double min, double max) =>
        option.Rule(x => x >= min && x < max, $"must be at least {Format(min)} and below {Format(max)}");

    /// <summary>The value must be above <paramref name="min"/>.</summary>
    public static Option<T> Above<T>(this Option<T> option, double min) =>
        option.Rule(x => x > min, $"must be above {Format(min)}");

    private static Option<T> Rule<T>(this Option<T> option, Func<double, bool> holds, string rule)
    {
        option.Validators.Add(result =>
        {
            // Only values the user typed: defaults are in range by construction.
            if (result.Tokens.Count == 0) return;
            T? value;
            try
            {
                value = result.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException)
            {
                return;   // the value does not convert; System.CommandLine reports that itself
            }
            if (value is null) return;
            var x = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            if (double.IsNaN(x) || !holds(x)) result.AddError($"{option.Name} {result.Tokens[^1].Value} {rule}.");
        });
        return option;
    }

    private static string Format(double x) => x.ToString(CultureInfo.InvariantCulture);
}
