using System.CommandLine;
using System.Text.Json;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;
using Condensa.Speculative;
using Condensa.Tokenization;

namespace Condensa.Cli.Commands;

/// <summary><c>condensa generate</c>: streams a completion of one prompt and reports token counts and speed.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var modelOptions = new ModelOptions();
        var prompt = new Option<string>("--prompt", "-p") { Description = "Text to complete", Required = true };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Most tokens to generate (default: catalog, else 128)" };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature; 0 = greedy (default: catalog, else 0)" };
        var topP = new Option<float?>("--top-p") { Description = "Nucleus sampling mass (default: catalog, else 1)" };
        var topK = new Option<int>("--top-k") { Description = "Keep the k most likely tokens; 0 = off" };
        var minP = new Option<float>("--min-p") { Description = "Drop tokens below min-p x the top probability; 0 = off" };
        var penalty = new Option<float>("--repetition-penalty") { Description = "Repetition penalty; 1 = off", DefaultValueFactory = _ => 1f };
        var seed = new Option<int?>("--seed") { Description = "Random seed: the same seed gives the same text" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (text, token ids, counts, speed) instead of streaming" };
        var speculative = new Option<string>("--speculative")
        {
            Description = "Speculative decoding: none, draft (a smaller model), self (the model over a sink+window KV budget), lookup (prompt n-grams), " +
                "tree (Sequoia token trees, drafted by --draft if given, else by self-speculation)",
            DefaultValueFactory = _ => SpeculativeSetup.None,
        };
        speculative.AcceptOnlyFromAmong(SpeculativeSetup.Modes);
        var draftModel = new Option<string?>("--draft") { Description = "Draft model for --speculative draft (default: the catalog's pairing)" };
        var gamma = new Option<string>("--gamma") { Description = "Draft length: auto (adapts to acceptance and step times) or N", DefaultValueFactory = _ => "auto" };
        var sinks = new Option<int>("--sinks") { Description = "Attention-sink tokens of the self-speculation budget", DefaultValueFactory = _ => 16 };
        var window = new Option<int>("--window") { Description = "Recent-token window of the self-speculation budget", DefaultValueFactory = _ => 256 };
        var treeSize = new Option<string>("--tree-size")
        {
            Description = "Tree nodes for --speculative tree: auto (sized per round from condensa calibrate's measurements) or N",
            DefaultValueFactory = _ => "auto",
        };
        var treeDepth = new Option<int?>("--tree-depth") { Description = "Draft levels of the tree (default: chosen with the size)" };

        var command = new Command("generate", "Complete a prompt with a model")
        {
            prompt, maxTokens, temperature, topP, topK, minP, penalty, seed, json,
            speculative, draftModel, gamma, sinks, window, treeSize, treeDepth,
        };
        modelOptions.AddTo(command);
        command.SetGuardedAction(async (parse, output, error, cancellationToken) =>
        {
            var resolved = modelOptions.Resolve(parse, error);
            var defaults = resolved.Entry?.Defaults ?? new CatalogDefaults();
            var setup = new SpeculativeSetup(parse.GetValue(speculative)!, parse.GetValue(draftModel), SpeculativeSetup.ParseGamma(parse.GetValue(gamma)!),
                parse.GetValue(sinks), parse.GetValue(window), SpeculativeSetup.ParseTreeSize(parse.GetValue(treeSize)!), parse.GetValue(treeDepth));
            var session = modelOptions.Settings(parse, resolved);
            using var decoder = DecoderModel.Load(resolved.ExportDir, setup.TargetSession(session));
            ExecutionOptions.ReportFallback(decoder, error);
            var tokenizer = resolved.LoadTokenizer();
            var sampling = CatalogFallbacks.Sampling(defaults, parse.GetValue(temperature), parse.GetValue(topP), parse.GetValue(topK), parse.GetValue(seed))
                with { MinP = parse.GetValue(minP), RepetitionPenalty = parse.GetValue(penalty) };
            var options = new GenerationOptions
            {
                MaxNewTokens = CatalogFallbacks.MaxNewTokens(defaults, parse.GetValue(maxTokens)),
                Sampling = sampling,
                StopTokenIds = tokenizer.StopTokenIds(decoder.Manifest.EosTokenIds),
            };
            var loaded = new List<IDisposable>();
            try
            {
                var (catalog, precision) = (parse.GetValue(modelOptions.Catalog), parse.GetValue(modelOptions.Precision));
                var tree = setup.IsTree ? setup.CreateTreeRun(decoder, resolved, catalog, precision, sampling, error, loaded, session) : null;
                if (tree is not null) loaded.Add(tree.Drafter);
                var speculation = setup.Enabled && !setup.IsTree
                    ? new SpeculativeRunSetup(setup.CreateDrafter(decoder, resolved, catalog, precision, MaxGamma,
                        sampling, error, loaded, session), setup.Gamma, MaxGamma)
                    : null;
                if (speculation is not null) loaded.Add(speculation.Drafter);
                return await Run(new GenerationRun(decoder, tokenizer, options, speculation, tree), parse.GetValue(prompt)!, parse.GetValue(json), output,
                    cancellationToken);
            }
            finally
            {
                foreach (var d in loaded) d.Dispose();
            }
        });
        return command;
    }

    // The largest draft the adaptive controller may choose (and the self-speculation budget's slack).
    private const int MaxGamma = 12;

    private static async Task<int> Run(GenerationRun run, string prompt, bool json, TextWriter output, CancellationToken cancellationToken)
    {
        var promptIds = run.Tokenizer.Encode(prompt, addBos: true);
        var generated = new List<int>();
        var text = new System.Text.StringBuilder();
        var stream = run.Tokenizer.CreateStreamingDecoder();
        await foreach (var token in run.StreamAsync(promptIds, cancellationToken))
        {
            generated.Add(token);
            if (run.Options.StopTokenIds.Contains(token)) break;
            var piece = stream.Append(token);
            text.Append(piece);
            if (!json) { await output.WriteAsync(piece); await output.FlushAsync(cancellationToken); }
        }
        var tail = stream.Flush();
        text.Append(tail);
        var stats = run.Stats;
        var m = run.Model.Manifest;
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new
            {
                text = text.ToString(),
                tokens = generated,
                prompt_tokens = stats.PromptTokens,
                generated_tokens = stats.GeneratedTokens,
                prefill_tokens_per_second = Math.Round(stats.PrefillTokensPerSecond, 2),
                decode_tokens_per_second = Math.Round(stats.DecodeTokensPerSecond, 2),
                kv_bytes = stats.KvBytes,
                kv_bytes_per_token = stats.KvBytesPerToken,
                standard_kv_bytes_per_token = m.StandardKvBytesPerToken,
                speculative = SpeculativeJson(run),
            }));
            return 0;
        }
        await output.WriteLineAsync(tail);
        await output.WriteLineAsync(StatsLine(stats, m, run.SpeculativeStats));
        return 0;
    }

    private static object? SpeculativeJson(GenerationRun run) => run.SpeculativeStats is not { } spec ? null : new
    {
        drafter = run.DrafterName,
        rounds = spec.Rounds,
        proposed = spec.Proposed,
        accepted = spec.Accepted,
        acceptance_rate = Math.Round(spec.AcceptanceRate, 4),
        mean_accepted_per_round = Math.Round(spec.MeanAcceptedPerRound, 3),
        draft_ms_per_round = Math.Round(spec.DraftMillisecondsPerRound, 3),
        verify_ms_per_round = Math.Round(spec.VerifyMillisecondsPerRound, 3),
    };

    /// <summary>The closing line: counts, speed and KV memory (with the standard-architecture figure when the
    /// model condenses its KV).</summary>
    internal static string StatsLine(GenerationStats stats, ModelManifest manifest, SpeculativeStats? speculative = null)
    {
        var kv = $"KV {stats.KvBytes:N0} B ({stats.KvBytesPerToken:N0} B/token";
        if (manifest.StandardKvBytesPerToken != stats.KvBytesPerToken) kv += $", standard layout {manifest.StandardKvBytesPerToken:N0} B/token";
        return $"[prompt {stats.PromptTokens} tokens | generated {stats.GeneratedTokens} tokens | prefill {stats.PrefillTokensPerSecond:F1} tok/s | " +
               $"decode {stats.DecodeTokensPerSecond:F1} tok/s | {kv})" +
               (speculative is null ? "" : $" | acceptance {speculative.AcceptanceRate:P1} | {speculative.MeanAcceptedPerRound:F2} accepted/round | " +
                   $"draft {speculative.DraftMillisecondsPerRound:F2} ms/round | verify {speculative.VerifyMillisecondsPerRound:F2} ms/round") + "]";
    }
}
