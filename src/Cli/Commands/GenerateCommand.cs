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
    /// <summary>The command; <paramref name="input"/> is read for <c>--prompt-file -</c> (null: the process's standard input,
    /// read as strict UTF-8).</summary>
    public static Command Create(TextReader? input = null)
    {
        var modelOptions = new ModelOptions();
        var prompt = new Option<string?>("--prompt", "-p") { Description = "Text to complete (or --prompt-file)" };
        var promptFile = new Option<string?>("--prompt-file", "-f") { Description = "File holding the text to complete; - reads standard input" };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Most tokens to generate (default: catalog, else 128)" }.AtLeast(1);
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature; 0 = greedy (default: catalog, else 0)" }.AtLeast(0);
        var topP = new Option<float?>("--top-p") { Description = "Nucleus sampling mass (default: catalog, else 1)" }.AboveAndAtMost(0, 1);
        var topK = new Option<int>("--top-k") { Description = "Keep the k most likely tokens; 0 = off" }.AtLeast(0);
        var minP = new Option<float>("--min-p") { Description = "Drop tokens below min-p x the top probability; 0 = off" }.AtLeastAndBelow(0, 1);
        var penalty = new Option<float>("--repetition-penalty") { Description = "Repetition penalty; 1 = off", DefaultValueFactory = _ => 1f }.Above(0);
        var seed = new Option<int?>("--seed") { Description = "Random seed: the same seed gives the same text" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (text, token ids, counts, speed) instead of streaming" };
        var speculation = new SpeculationCommandOptions();
        var command = new Command("generate", "Complete a prompt with a model")
        {
            prompt, promptFile, maxTokens, temperature, topP, topK, minP, penalty, seed, json,
        };
        speculation.AddTo(command);
        modelOptions.AddTo(command);
        command.SetGuardedAction(async (parse, output, error, cancellationToken) =>
        {
            var text = PromptText(parse.GetValue(prompt), parse.GetValue(promptFile), input);
            var resolved = modelOptions.Resolve(parse, error);
            var defaults = resolved.Entry?.Defaults ?? new CatalogDefaults();
            var setup = speculation.Parse(parse);
            var session = modelOptions.Settings(parse, resolved);
            using var decoder = DecoderModel.Load(resolved.ExportDir, session);
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
            using var release = new Disposables(loaded);
            var (speculative, draft) = setup.Prepare(resolved, parse.GetValue(modelOptions.Catalog), parse.GetValue(modelOptions.Precision), error, loaded,
                session);
            return await Run(new GenerationRun(decoder, tokenizer, options, speculative, draft), text, parse.GetValue(json), output, error,
                cancellationToken);
        });
        return command;
    }

    /// <summary>The prompt of --prompt, or of --prompt-file (a file, or - for standard input); exactly one of them.</summary>
    private static string PromptText(string? prompt, string? file, TextReader? input)
    {
        if (prompt is null && file is null)
            throw new ArgumentException("generate needs --prompt TEXT or --prompt-file PATH (- reads standard input).");
        if (prompt is not null && file is not null) throw new ArgumentException("--prompt and --prompt-file exclude each other.");
        // An argument the shell passed in another encoding reaches .NET with U+FFFD in place of its bytes.
        if (prompt is not null)
            return prompt.Contains('\uFFFD') ? throw new ArgumentException("--prompt is not valid UTF-8 (it holds U+FFFD); pass the text as UTF-8.") : prompt;
        if (file != "-") return TextFiles.ReadUtf8(file!, "--prompt-file");
        return input?.ReadToEnd() ?? TextFiles.ReadStandardInput();
    }

    private static async Task<int> Run(GenerationRun run, string prompt, bool json, TextWriter output, TextWriter error, CancellationToken cancellationToken)
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
                finish_reason = Finish(run, generated).ToString().ToLowerInvariant(),
                kv_bytes = stats.KvBytes,
                kv_bytes_per_token = stats.KvBytesPerToken,
                standard_kv_bytes_per_token = m.StandardKvBytesPerToken,
                speculative = SpeculativeJson(run),
            }));
            return 0;
        }
        await output.WriteLineAsync(tail);
        // The figures go to stderr, so `generate ... > out.py` captures only the text.
        await error.WriteLineAsync(StatsLine(stats, m, run.SpeculativeStats));
        return 0;
    }

    /// <summary>Stop when a stop token ended the text, else Length (the --max-tokens limit): "stop" / "length" in JSON, as
    /// OpenAI-style APIs name them.</summary>
    private static FinishReason Finish(GenerationRun run, List<int> generated) =>
        generated.Count > 0 && run.Options.StopTokenIds.Contains(generated[^1]) ? FinishReason.Stop : FinishReason.Length;

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
