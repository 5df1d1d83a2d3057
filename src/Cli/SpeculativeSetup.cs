using Condensa.Export;
using Condensa.Runtime;
using Condensa.Runtime.Sampling;
using Condensa.Speculative;

namespace Condensa.Cli;

/// <summary>The --speculative choices of the command line, turned into a drafter.</summary>
internal sealed record SpeculativeSetup(string Mode, string? DraftName, int? Gamma, int Sinks, int Window)
{
    public const string None = "none";

    public static readonly string[] Modes = [None, "draft", "self", "lookup"];

    public bool Enabled => Mode != None;

    /// <summary>Parses --gamma: "auto" or a positive integer.</summary>
    public static int? ParseGamma(string value) =>
        value == "auto" ? null
        : int.TryParse(value, out var g) && g >= 1 ? g
        : throw new ArgumentException($"--gamma '{value}' must be 'auto' or a positive integer.");

    /// <summary>Creates the drafter; a draft model is loaded into <paramref name="loaded"/> so the caller disposes it.</summary>
    public IDrafter CreateDrafter(DecoderModel target, ResolvedModel resolved, string? catalog, ExportPrecision precision, int maxGamma,
        SamplingOptions sampling, TextWriter log, List<IDisposable> loaded)
    {
        switch (Mode)
        {
            case "lookup":
                return new PromptLookupDrafter();
            case "self":
                return new SelfSpeculationDrafter(target, new KvBudget(Sinks, Window, Slack: maxGamma), maxGamma, 1, sampling);
            case "draft":
                var name = DraftName ?? resolved.Entry?.Draft
                    ?? throw new CondensaException("--speculative draft needs --draft NAME (or a catalog model with a 'draft' pairing).");
                var draftResolved = ModelResolver.Resolve(name, catalog, precision, log);
                CheckSameTokenizer(resolved.ExportDir, draftResolved.ExportDir);
                var draft = DecoderModel.Load(draftResolved.ExportDir);
                loaded.Add(draft);
                return new DraftModelDrafter(draft, target.Manifest, 1, sampling);
            default:
                throw new ArgumentException($"--speculative '{Mode}' is not one of {string.Join(", ", Modes)}.");
        }
    }

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
