using System.CommandLine;
using Condensa.Speculative;

namespace Condensa.Cli.Commands;

/// <summary>--speculative, --draft, --gamma, --sinks, --window, --max-window, --tree-size, --tree-depth and --draft-precision of a command that generates
/// (generate, chat, serve, extract), parsed into a <see cref="SpeculativeSetup"/>.</summary>
internal sealed class SpeculationCommandOptions
{
    public Option<string> Mode { get; } = new("--speculative")
    {
        Description = "Speculative decoding: none, draft (a smaller model), self (the model over a sink+window KV budget), lookup (prompt n-grams), " +
            "tree (Sequoia token trees, drafted by --draft if given, else by self-speculation)",
    };
    public Option<string?> Draft { get; } = new("--draft") { Description = "Draft model for --speculative draft (default: the catalog's pairing)" };
    public Option<string> Gamma { get; } = new("--gamma") { Description = "Draft length: auto (adapts to acceptance and step times; 0, plain decoding, where drafting cannot pay) or N", DefaultValueFactory = _ => "auto" };
    public Option<int> Sinks { get; } = new Option<int>("--sinks") { Description = "Attention-sink tokens of the self-speculation budget", DefaultValueFactory = _ => 16 }.AtLeast(0);
    /// <summary>--window's help, shared by the commands that take a self-speculation budget (bench and calibrate too).</summary>
    public const string WindowDescription =
        "Recent tokens the self-speculation budget keeps at the least (up to a quarter of it, or the longest draft, more)";

    public Option<int> Window { get; } = new Option<int>("--window") { Description = WindowDescription, DefaultValueFactory = _ => 256 }.AtLeast(1);
    /// <summary>--max-window's help, shared with bench.</summary>
    public static readonly string MaxWindowDescription =
        "Widest window self-speculation may widen --window to, doubling it while condensa calibrate's draft steps price the wider budget within " +
        $"{(int)Math.Round(Speculation.WindowCostShare * 100)} % of --window's at the batch (few rows on a GPU); --window itself keeps it; " +
        $"default: {Speculation.DefaultMaxWindow}";
    public Option<int?> MaxWindow { get; } = new Option<int?>("--max-window") { Description = MaxWindowDescription }.AtLeast(1);
    public Option<string> TreeSize { get; } = new("--tree-size")
    {
        Description = "Tree nodes for --speculative tree: auto (sized per round from condensa calibrate's measurements) or N",
        DefaultValueFactory = _ => "auto",
    };
    public Option<int?> TreeDepth { get; } = new Option<int?>("--tree-depth") { Description = "Draft levels of the tree (default: chosen with the size)" }.AtLeast(1);
    public Option<Export.ExportPrecision?> DraftPrecision { get; } = CommonOptions.DraftPrecision();

    /// <param name="defaultMode">--speculative's default: none, except for extract (lookup).</param>
    public SpeculationCommandOptions(string defaultMode = SpeculativeSetup.None)
    {
        Mode.AcceptOnlyFromAmong(SpeculativeSetup.Modes);
        Mode.DefaultValueFactory = _ => defaultMode;
    }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public SpeculationCommandOptions AddTo(Command command)
    {
        foreach (var option in new Option[] { Mode, Draft, Gamma, Sinks, Window, MaxWindow, TreeSize, TreeDepth, DraftPrecision }) command.Options.Add(option);
        return this;
    }

    /// <summary>The choices made on the command line.</summary>
    public SpeculativeSetup Parse(ParseResult parse) =>
        new(parse.GetValue(Mode)!, parse.GetValue(Draft), SpeculativeSetup.ParseGamma(parse.GetValue(Gamma)!), parse.GetValue(Sinks), parse.GetValue(Window),
            SpeculativeSetup.ParseTreeSize(parse.GetValue(TreeSize)!), parse.GetValue(TreeDepth), parse.GetValue(DraftPrecision), parse.GetValue(MaxWindow));
}
