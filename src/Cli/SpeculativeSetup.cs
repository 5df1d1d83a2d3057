using Condensa.Export;
using Condensa.Runtime;
using Condensa.Speculative;
using Condensa.Speculative.Trees;

namespace Condensa.Cli;

/// <summary>The --speculative choices of the command line, parsed into the library's <see cref="SpeculationOptions"/>
/// (<see cref="Speculation"/> builds the step). Tree speculation drafts with --draft when given and otherwise with
/// self-speculation over the --sinks/--window budget; --tree-size/--tree-depth pin the tree; --draft-precision exports the
/// model that drafts (the draft model, or for self-speculation the model's own checkpoint) at that precision.</summary>
internal sealed record SpeculativeSetup(string Mode, string? DraftName, int? Gamma, int Sinks, int Window, int? TreeSize = null, int? TreeDepth = null,
    ExportPrecision? DraftPrecision = null, int? MaxWindow = null)
{
    public const string None = "none";
    public const string Tree = "tree";

    public static readonly string[] Modes = [None, "draft", "self", "lookup", Tree];

    public bool Enabled => Mode != None;

    public bool IsTree => Mode == Tree;

    /// <summary>Parses --tree-size: "auto" or a positive integer.</summary>
    public static int? ParseTreeSize(string value) =>
        value == "auto" ? null
        : int.TryParse(value, out var n) && n >= 1 ? n
        : throw new ArgumentException($"--tree-size '{value}' must be 'auto' or a positive integer.");

    /// <summary>
    /// The library's options for these choices, and the draft model when one drafts (loaded into <paramref name="loaded"/>,
    /// which the caller disposes). A tree drafts with --draft when given, else by self-speculation, and is sized from the
    /// calibration <c>condensa calibrate</c> saved beside the export for this pair (or a prior, with a note).
    /// </summary>
    public (SpeculationOptions Options, DecoderModel? Draft) Prepare(ResolvedModel resolved, string? catalog, ExportPrecision precision, TextWriter log,
        List<IDisposable> loaded, SessionSettings? session = null)
    {
        if (TreeDepth is < 1) throw new ArgumentException($"--tree-depth '{TreeDepth}' must be a positive integer.");
        CheckDraftPrecision(DraftPrecision, modelDrafts: Mode is "self" or "draft" or Tree, $"--speculative {Mode}");
        if (DraftPrecisionHint(precision, session?.Providers ?? []) is { } hint) log.WriteLine(hint);
        var options = new SpeculationOptions
        {
            Mode = Mode switch
            {
                None => SpeculationMode.None,
                "lookup" => SpeculationMode.Lookup,
                "self" => SpeculationMode.Self,
                "draft" => SpeculationMode.Draft,
                Tree => DraftName is null ? SpeculationMode.Self : SpeculationMode.Draft,
                _ => throw new ArgumentException($"--speculative '{Mode}' is not one of {string.Join(", ", Modes)}."),
            },
            Tree = IsTree, Gamma = Gamma, Sinks = Sinks, Window = Window, MaxWindow = MaxWindow, TreeSize = TreeSize, TreeDepth = TreeDepth,
        };
        if (options.Mode is SpeculationMode.None or SpeculationMode.Lookup) return (options, null);
        // the model that drafts (null: the target over its budget) and the pair's calibration, which sizes a tree and starts
        // an adaptive chain (a chain without one explores from γ = 1; a tree says it takes the prior)
        var draftName = Mode switch
        {
            "draft" => DraftName ?? resolved.Entry?.Draft
                ?? throw new CondensaException("--speculative draft needs --draft NAME (or a catalog model with a 'draft' pairing)."),
            "self" => null,
            _ => DraftName,
        };
        var (drafter, key) = ResolveDrafter(draftName, Sinks, Window, catalog, precision, resolved, log, loaded, session, DraftPrecision);
        var calibration = TreeCalibration.Load(resolved.ExportDir, key);
        if (IsTree && calibration is null && TreeSize is null)
            log.WriteLine($"note: no {TreeCalibration.FileName(key)} beside the export; sizing trees from a default prior (run condensa calibrate).");
        return (options with { Calibration = calibration }, drafter);
    }

    /// <summary>The model that drafts for the pair (null = the target over its self-speculation budget) and the pair's
    /// calibration key: the draft model <paramref name="draftName"/> (exported at <paramref name="draftPrecision"/> where one
    /// is given, else at the target's), or for self-speculation (null) the target's checkpoint at
    /// <paramref name="draftPrecision"/> where one is given (<see cref="SelfDrafter"/>). The key names the draft's export, so
    /// each precision of a draft model keeps its own calibration.</summary>
    public static (DecoderModel? Draft, string Key) ResolveDrafter(string? draftName, int sinks, int window, string? catalog, ExportPrecision precision,
        ResolvedModel target, TextWriter log, List<IDisposable> loaded, SessionSettings? session = null, ExportPrecision? draftPrecision = null)
    {
        if (draftName is null)
        {
            var drafter = LoadSelfDrafter(draftPrecision, catalog, precision, target, log, loaded, session);
            return (drafter, SelfKey(sinks, window, drafter is null ? null : draftPrecision));
        }
        var draftResolved = ModelResolver.Resolve(draftName, catalog, draftPrecision ?? precision, log);
        if (draftPrecision is not null && draftResolved.Checkpoint is null)
            throw new ArgumentException($"--draft-precision exports the draft model's checkpoint again, but {draftResolved.ExportDir} is an export (of one " +
                "precision); name a checkpoint folder or a catalog model for --draft.");
        CheckSameTokenizer(target.ExportDir, draftResolved.ExportDir);
        var draft = DecoderModel.Load(draftResolved.ExportDir, session ?? new SessionSettings());
        loaded.Add(draft);
        return (draft, DraftKey(draftResolved.ExportDir));
    }

    /// <summary>The calibration key of a pair drafted by the model exported at <paramref name="draftExportDir"/>.</summary>
    public static string DraftKey(string draftExportDir) => $"draft-{Path.GetFileName(Path.GetFullPath(draftExportDir).TrimEnd('/'))}";

    /// <summary>The calibration key of self-speculation over a budget of <paramref name="sinks"/> and <paramref name="window"/>,
    /// drafted by the target's checkpoint at <paramref name="draftPrecision"/> (null: by the target).</summary>
    public static string SelfKey(int sinks, int window, ExportPrecision? draftPrecision) =>
        $"self-{sinks}-{window}" + (draftPrecision is { } p ? $"-{p.ToString().ToLowerInvariant()}" : "");

    /// <summary>
    /// Self-speculation's drafter at <paramref name="draftPrecision"/>: the target's checkpoint (or catalog model) exported at
    /// that precision and loaded into <paramref name="loaded"/>; null where none is asked for, or it is the target's own
    /// precision (the target drafts itself).
    /// </summary>
    public static DecoderModel? LoadSelfDrafter(ExportPrecision? draftPrecision, string? catalog, ExportPrecision precision, ResolvedModel target, TextWriter log,
        List<IDisposable> loaded, SessionSettings? session = null)
    {
        if (draftPrecision is not { } p || p == precision) return null;
        var source = target.Entry?.Name ?? target.Checkpoint
            ?? throw new ArgumentException($"--draft-precision exports the model's checkpoint again, but {target.ExportDir} is an export (of one precision); " +
                "name a checkpoint folder or a catalog model.");
        var resolved = ModelResolver.Resolve(source, catalog, p, log);
        var drafter = DecoderModel.Load(resolved.ExportDir, session ?? new SessionSettings());
        loaded.Add(drafter);
        return drafter;   // Speculation.CreateStep checks that it fits the target (Speculative.SelfDrafter)
    }

    /// <summary>A note for self-speculation of a float32 export on cuda that drafts with the model itself: its draft passes
    /// run without fused attention there, and the float16 export drafts the same tokens for less (docs/benchmarks.md, round
    /// 30); null where it does not apply.</summary>
    internal string? DraftPrecisionHint(ExportPrecision precision, IReadOnlyList<string> providers) =>
        DraftPrecision is null && precision == ExportPrecision.Fp32 && (Mode == "self" || IsTree && DraftName is null) && providers.Contains("cuda")
            ? "note: a float32 model's own draft passes run without fused attention on cuda; --draft-precision fp16 drafts with its float16 " +
              "export for less (2.7x in docs/benchmarks.md, round 30), and the output stays the model's."
            : null;

    /// <summary>Throws where --draft-precision is given for <paramref name="what"/>, in which no model drafts.</summary>
    public static void CheckDraftPrecision(ExportPrecision? draftPrecision, bool modelDrafts, string what)
    {
        if (draftPrecision is not null && !modelDrafts)
            throw new ArgumentException($"--draft-precision applies where a model drafts (self, draft or tree), not to {what}.");
    }

    /// <summary>Whether a second model drafts (draft mode, or a tree with --draft).</summary>
    public bool UsesDraftModel => Mode == "draft" || (IsTree && DraftName is not null);

    /// <summary>Parses --gamma: "auto" or a positive integer.</summary>
    public static int? ParseGamma(string value) =>
        value == "auto" ? null
        : int.TryParse(value, out var g) && g >= 1 ? g
        : throw new ArgumentException($"--gamma '{value}' must be 'auto' or a positive integer.");

    /// <summary>A draft must tokenize exactly like the target: the tokenizer files copied beside both exports must match.</summary>
    private static void CheckSameTokenizer(string targetDir, string draftDir)
    {
        foreach (var file in new[] { "tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt", "tokenizer.tiktoken" })
        {
            var a = Path.Combine(targetDir, file);
            var b = Path.Combine(draftDir, file);
            if (File.Exists(a) != File.Exists(b) || (File.Exists(a) && !File.ReadAllBytes(a).AsSpan().SequenceEqual(File.ReadAllBytes(b))))
                throw new CondensaException($"Incompatible draft: vocabulary mismatch ({file} differs between {targetDir} and {draftDir}); " +
                    "a draft must share the target's tokenizer.");
        }
    }
}
