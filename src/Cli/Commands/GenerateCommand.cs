using System.CommandLine;
using System.Text.Json;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;
using Condensa.Tokenization;

namespace Condensa.Cli.Commands;

/// <summary><c>condensa generate</c>: streams a completion of one prompt and reports token counts and speed.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var catalog = CommonOptions.Catalog();
        var precision = CommonOptions.Precision();
        var threads = CommonOptions.Threads();
        var prompt = new Option<string>("--prompt", "-p") { Description = "Text to complete", Required = true };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Most tokens to generate (default: catalog, else 128)" };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature; 0 = greedy (default: catalog, else 0)" };
        var topP = new Option<float?>("--top-p") { Description = "Nucleus sampling mass (default: catalog, else 1)" };
        var topK = new Option<int>("--top-k") { Description = "Keep the k most likely tokens; 0 = off" };
        var minP = new Option<float>("--min-p") { Description = "Drop tokens below min-p x the top probability; 0 = off" };
        var penalty = new Option<float>("--repetition-penalty") { Description = "Repetition penalty; 1 = off", DefaultValueFactory = _ => 1f };
        var seed = new Option<int?>("--seed") { Description = "Random seed: the same seed gives the same text" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (text, token ids, counts, speed) instead of streaming" };

        var command = new Command("generate", "Complete a prompt with a model")
        {
            model, catalog, precision, threads, prompt, maxTokens, temperature, topP, topK, minP, penalty, seed, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            return CommandErrors.Guard(error, async () =>
            {
                var resolved = ModelResolver.Resolve(parse.GetValue(model)!, parse.GetValue(catalog), parse.GetValue(precision), error);
                var defaults = resolved.Entry?.Defaults ?? new CatalogDefaults();
                using var decoder = DecoderModel.Load(resolved.ExportDir, new SessionSettings { IntraOpThreads = parse.GetValue(threads) });
                var tokenizer = TokenizerFactory.FromCheckpoint(resolved.ExportDir);
                var sampling = new SamplingOptions
                {
                    Temperature = parse.GetValue(temperature) ?? defaults.Temperature ?? 0f,
                    TopP = parse.GetValue(topP) ?? defaults.TopP ?? 1f,
                    TopK = parse.GetValue(topK),
                    MinP = parse.GetValue(minP),
                    RepetitionPenalty = parse.GetValue(penalty),
                    Seed = parse.GetValue(seed),
                };
                var options = new GenerationOptions
                {
                    MaxNewTokens = parse.GetValue(maxTokens) ?? defaults.MaxTokens ?? 128,
                    Sampling = sampling,
                    StopTokenIds = StopTokens(tokenizer, decoder.Manifest),
                };
                return await Run(decoder, tokenizer, parse.GetValue(prompt)!, options, parse.GetValue(json), output, cancellationToken);
            });
        });
        return command;
    }

    private static async Task<int> Run(DecoderModel decoder, CheckpointTokenizer tokenizer, string prompt, GenerationOptions options,
        bool json, TextWriter output, CancellationToken cancellationToken)
    {
        var promptIds = tokenizer.Encode(prompt, addBos: true);
        var stats = new GenerationStats();
        var generated = new List<int>();
        var text = new System.Text.StringBuilder();
        var stream = tokenizer.CreateStreamingDecoder();
        var generator = new Generator(decoder);
        await foreach (var token in generator.StreamAsync(promptIds, options, stats, cancellationToken: cancellationToken))
        {
            generated.Add(token);
            if (options.StopTokenIds.Contains(token)) break;
            var piece = stream.Append(token);
            text.Append(piece);
            if (!json) { await output.WriteAsync(piece); await output.FlushAsync(cancellationToken); }
        }
        var tail = stream.Flush();
        text.Append(tail);
        var m = decoder.Manifest;
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
            }));
            return 0;
        }
        await output.WriteLineAsync(tail);
        await output.WriteLineAsync(StatsLine(stats, m));
        return 0;
    }

    /// <summary>The closing line: counts, speed and KV memory (with the standard-architecture figure when the
    /// model condenses its KV).</summary>
    internal static string StatsLine(GenerationStats stats, ModelManifest manifest)
    {
        var kv = $"KV {stats.KvBytes:N0} B ({stats.KvBytesPerToken:N0} B/token";
        if (manifest.StandardKvBytesPerToken != stats.KvBytesPerToken) kv += $", standard layout {manifest.StandardKvBytesPerToken:N0} B/token";
        return $"[prompt {stats.PromptTokens} tokens | generated {stats.GeneratedTokens} tokens | prefill {stats.PrefillTokensPerSecond:F1} tok/s | " +
               $"decode {stats.DecodeTokensPerSecond:F1} tok/s | {kv})]";
    }

    private static IReadOnlyList<int> StopTokens(CheckpointTokenizer tokenizer, ModelManifest manifest) =>
        [.. tokenizer.EosTokenIds.Concat(manifest.EosTokenIds).Distinct()];
}
