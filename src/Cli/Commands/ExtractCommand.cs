using System.CommandLine;
using Condensa.Cli.Extraction;
using Condensa.Runtime;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;
using Condensa.Speculative;
using Condensa.Tokenization;

namespace Condensa.Cli.Commands;

/// <summary><c>condensa extract</c>: runs a prompt template over every record of a JSONL file or folder with continuous
/// batching, and appends one durable output record per input record.</summary>
internal static class ExtractCommand
{
    public static Command Create()
    {
        var modelOptions = new ModelOptions();
        var input = new Option<string>("--input", "-i") { Description = "JSONL file (one object per line with \"id\") or a folder of text files", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Output JSONL: one record per input record, in completion order", Required = true };
        var template = new Option<string>("--prompt-template") { Description = "File with the prompt; {{field}} is replaced by the record's field ({{text}}, {{id}}, ...)", Required = true };
        var batch = new Option<int>("--batch") { Description = "Documents generated side by side (rows of the KV cache)", DefaultValueFactory = _ => 8 }.AtLeast(1);
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Most tokens to generate per document (default: catalog, else 128)" }.AtLeast(1);
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature; 0 = greedy (default: catalog, else 0)" }.AtLeast(0);
        var topP = new Option<float?>("--top-p") { Description = "Nucleus sampling mass (default: catalog, else 1)" }.AboveAndAtMost(0, 1);
        var topK = new Option<int>("--top-k") { Description = "Keep the k most likely tokens; 0 = off" }.AtLeast(0);
        var seed = new Option<int?>("--seed") { Description = "Random seed: each document is sampled as a run on its own with this seed" };
        var prefillChunk = new Option<int>("--prefill-chunk") { Description = "Prompt tokens per prefill pass", DefaultValueFactory = _ => 512 }.AtLeast(1);
        var shard = new Option<string?>("--shard") { Description = "i/N: take only records whose line (or file) index is i mod N, 0 <= i < N" };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted job: keep the output's complete records, redo the rest" };

        var command = new Command("extract", "Run a prompt template over many documents with continuous batching")
        {
            input, output, template, batch, maxTokens, temperature, topP, topK, seed, prefillChunk, shard, resume,
        };
        modelOptions.AddTo(command);
        // lookup by default: free, and strong where an answer copies its document; self (MagicDec) for long documents at
        // large batch on a GPU; draft and tree as generate and serve take them
        var speculation = new SpeculationCommandOptions(defaultMode: "lookup").AddTo(command);
        command.SetGuardedAction(async (parse, stdout, error, cancellationToken) =>
        {
            var shardSpec = parse.GetValue(shard) is { } s ? ShardSpec.Parse(s) : ShardSpec.All;
            var setup = speculation.Parse(parse);
            using var outputLog = OutputLog.Open(parse.GetValue(output)!, parse.GetValue(resume));   // the lock before any slow work
            var resolved = modelOptions.Resolve(parse, error);
            var defaults = resolved.Entry?.Defaults ?? new CatalogDefaults();
            using var decoder = DecoderModel.Load(resolved.ExportDir, modelOptions.Settings(parse, resolved));
            ExecutionOptions.ReportFallback(decoder, error);
            var tokenizer = resolved.LoadTokenizer();
            var sampling = CatalogFallbacks.Sampling(defaults, parse.GetValue(temperature), parse.GetValue(topP), parse.GetValue(topK), parse.GetValue(seed));
            var generation = new GenerationOptions
            {
                MaxNewTokens = CatalogFallbacks.MaxNewTokens(defaults, parse.GetValue(maxTokens)),
                Sampling = sampling,
                StopTokenIds = tokenizer.StopTokenIds(decoder.Manifest.EosTokenIds),
                PrefillChunk = parse.GetValue(prefillChunk),
            };
            // Where passes replay captured graphs (cuda), a regrowth mid-decode captures every pass shape again: reserve every
            // token at admission. Elsewhere a regrowth is only a copy, and --max-tokens is often a cap far above the answers.
            var batching = new BatchOptions { BatchSize = parse.GetValue(batch), Generation = generation, ReserveMaxTokens = decoder.CapturesGraphs };
            var settings = new ExtractionSettings(parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(template)!, batching, shardSpec);
            settings.Batch.Validate();
            // A layer-condensed target cannot verify drafts exactly (ARCHITECTURE.md): it decodes plainly.
            if (decoder.Manifest.KvLayers.Length != decoder.Manifest.NumLayers && setup.Enabled)
            {
                await error.WriteLineAsync("[extract] speculation off: a layer-condensed model cannot verify drafted tokens exactly");
                setup = setup with { Mode = SpeculativeSetup.None, DraftPrecision = null };
            }
            var loaded = new List<IDisposable>();
            using var unload = new Disposables(loaded);
            // the drafter (a draft model, or the target's checkpoint at --draft-precision) and the pair's calibration, which
            // starts an adaptive chain and sizes trees, as generate and serve resolve them
            var (speculative, drafter) = setup.Prepare(resolved, parse.GetValue(modelOptions.Catalog), parse.GetValue(modelOptions.Precision), error, loaded,
                modelOptions.Settings(parse, resolved));
            var spec = speculative.Mode == SpeculationMode.None ? null : new SpeculativeStats();
            var step = Speculation.CreateStep(decoder, speculative, settings.Batch.BatchSize, sampling, drafter, spec);
            var stats = spec?.Generation ?? new GenerationStats();
            var terminal = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
            var job = new ExtractionJob(decoder, tokenizer, step, settings);
            var progress = await Task.Run(() => job.Run(outputLog, error, terminal, stats, cancellationToken), cancellationToken);
            await stdout.WriteLineAsync(Summary(progress, stats, spec, settings, setup.Mode));
            return 0;
        });
        return command;
    }

    /// <summary>The closing line: records, errors, documents/s and tokens/s, where the time went (prefill, decode and, when
    /// speculating, its drafting and verifying; the KV cache's regrowths) and the acceptance when speculating.</summary>
    private static string Summary(ExtractionProgress progress, GenerationStats stats, SpeculativeStats? speculative, ExtractionSettings settings,
        string mode) =>
        $"[extract shard {settings.Shard}: {progress.Documents} records ({progress.Errors} errors) in {progress.Elapsed.TotalSeconds:F2} s | " +
        $"{progress.DocumentsPerSecond:F2} documents/s | {progress.TokensPerSecond:F1} tokens/s | prompt {stats.PromptTokens} tokens, " +
        $"generated {stats.GeneratedTokens} tokens | batch {settings.Batch.BatchSize} | prefill {stats.PrefillTime.TotalSeconds:F2} s, " +
        $"decode {stats.DecodeTime.TotalSeconds:F2} s" +
        (speculative is null ? "" : $" (drafting {speculative.DraftTime.TotalSeconds:F2} s, verifying {speculative.VerifyTime.TotalSeconds:F2} s)") +
        $", KV cache regrown {stats.KvReallocations} times" +
        (speculative is null ? "" : $" | {mode} acceptance {speculative.AcceptanceRate:P1}, {speculative.MeanAcceptedPerRound:F2} accepted/row-round") + "]";
}
