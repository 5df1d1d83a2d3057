using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Condensa.Runtime;
using Condensa.Tokenization;

namespace Condensa.Cli.Commands;

/// <summary>
/// <c>condensa perplexity</c>: exp(mean negative log-likelihood) of a text file under a model, over consecutive windows
/// (each scored from a fresh cache, BOS first where the tokenizer adds one). Compares precisions of one checkpoint:
/// <c>--precision fp32</c> against <c>int8</c> / <c>int4</c> on the same held-out text.
/// </summary>
internal static class PerplexityCommand
{
    // Tokens per forward pass: [chunk, vocab] logits at a time, however long the window.
    private const int Chunk = 256;

    public static Command Create()
    {
        var modelOptions = new ModelOptions();
        var files = new Option<string[]>("--file", "-f") { Description = "Held-out text file(s), concatenated with newlines", Required = true, AllowMultipleArgumentsPerToken = true };
        var window = new Option<int>("--window") { Description = "Tokens per scored window (capped at the model's context)", DefaultValueFactory = _ => 1024 }.AtLeast(2);
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Score only the first N tokens of the text" }.AtLeast(1);
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a line" };
        var command = new Command("perplexity", "Perplexity of a model on held-out text") { files, window, maxTokens, json };
        modelOptions.AddTo(command);
        command.SetGuardedAction(async (parse, output, error, cancellationToken) =>
        {
            var resolved = modelOptions.Resolve(parse, error);
            using var decoder = DecoderModel.Load(resolved.ExportDir, modelOptions.Settings(parse, resolved));
            var tokenizer = resolved.LoadTokenizer();
            var text = string.Join("\n", parse.GetValue(files)!.Select(f => TextFiles.ReadUtf8(f, "--file")));
            var ids = tokenizer.Encode(text, addBos: false);
            if (parse.GetValue(maxTokens) is { } max) ids = [.. ids.Take(Math.Max(max, 0))];
            var bos = tokenizer.Encode("", addBos: true) is [var b] ? b : (int?)null;
            var score = Score(decoder, ids, parse.GetValue(window), bos, cancellationToken);
            if (parse.GetValue(json))
                await output.WriteLineAsync(JsonSerializer.Serialize(new
                {
                    model = parse.GetValue(modelOptions.Model), precision = parse.GetValue(modelOptions.Precision).ToString().ToLowerInvariant(),
                    tokens = score.Tokens, windows = score.Windows, nll = score.MeanNll, perplexity = score.Perplexity,
                }));
            else
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"perplexity {score.Perplexity:F4} (mean nll {score.MeanNll:F5} over {score.Tokens} tokens in {score.Windows} windows)"));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Scores <paramref name="ids"/> in consecutive windows of <paramref name="window"/> tokens (BOS included when given):
    /// every token of a window after its first position is predicted from the ones before it in that window.
    /// </summary>
    /// <exception cref="ArgumentException">A window below 2 tokens, or a text too short to score.</exception>
    public static PerplexityScore Score(DecoderModel model, IReadOnlyList<int> ids, int window, int? bos, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        window = Math.Min(window, model.Manifest.MaxContext);
        int lead = bos is null ? 0 : 1, text = window - lead;
        if (text < 1 || window < 2) throw new ArgumentException($"--window {window} is too small to score anything.");
        if (ids.Count < 2 - lead) throw new ArgumentException($"the text has {ids.Count} tokens: too few to score.");
        int vocab = model.Manifest.VocabSize;
        double nll = 0;
        long scored = 0;
        int windows = 0;
        using var cache = model.CreateCache(1, new KvCacheOptions { InitialCapacity = Math.Min(window, 4096) });
        var seq = new List<int>(window);
        for (int start = 0; start < ids.Count; start += text)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // 1) the window: [bos] ++ the next tokens of the text
            seq.Clear();
            if (bos is int b) seq.Add(b);
            seq.AddRange(ids.Skip(start).Take(text));
            if (seq.Count < 2) break;
            cache.RewindTo(0);
            windows++;
            // 2) chunk by chunk through the cache; position p's logits predict token p + 1
            for (int at = 0; at < seq.Count - 1; at += Chunk)
            {
                int n = Math.Min(Chunk, seq.Count - 1 - at);
                var tokens = seq.GetRange(at, n).ToArray();
                var logits = model.Forward(cache, tokens, [n], LogitsSelection.All);                       // [1, n, V]
                for (int i = 0; i < n; i++)
                    nll += NegativeLogLikelihood(logits.Slice(i * vocab, vocab), seq[at + i + 1]);
                scored += n;
            }
        }
        return new PerplexityScore(scored, windows, nll / scored);
    }

    /// <summary>-log softmax(logits)[target], in double.</summary>
    public static double NegativeLogLikelihood(ReadOnlySpan<float> logits, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in logits) sum += Math.Exp(v - max);
        return Math.Log(sum) - (logits[target] - max);
    }
}

/// <summary>What <see cref="PerplexityCommand.Score"/> measured.</summary>
/// <param name="Tokens">Tokens predicted (scored).</param>
/// <param name="Windows">Windows scored.</param>
/// <param name="MeanNll">Mean negative log-likelihood per scored token, in nats.</param>
internal sealed record PerplexityScore(long Tokens, int Windows, double MeanNll)
{
    /// <summary>exp(mean NLL).</summary>
    public double Perplexity => Math.Exp(MeanNll);
}
