using System.CommandLine;
using Condensa.Runtime;
using Condensa.Runtime.Sampling;
using Condensa.Speculative;
using Condensa.Server;
using Condensa.Tokenization;

namespace Condensa.Cli.Commands;

/// <summary><c>condensa serve</c>: loads the model and runs <see cref="CondensaServer"/> until Ctrl+C. Parsing only; the
/// server project owns HTTP and the batch.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var modelOptions = new ModelOptions();
        var host = new Option<string>("--host") { Description = "Address to bind (loopback by default; 0.0.0.0 exposes it)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port", DefaultValueFactory = _ => 8080 }.AtLeast(0);
        var maxBatch = new Option<int>("--max-batch") { Description = "Rows of the shared continuous batch", DefaultValueFactory = _ => 8 }.AtLeast(1);
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests waiting for a row before new ones get 429", DefaultValueFactory = _ => 256 }.AtLeast(0);
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on /v1 and /metrics" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Reply length when a request names none", DefaultValueFactory = _ => 256 }.AtLeast(1);
        var template = new Option<string?>("--template") { Description = $"Chat template: {string.Join(", ", ChatTemplate.Names)} (default: from the checkpoint)" };
        var noThink = new Option<bool>("--no-think") { Description = "Reply without reasoning where the template can (Qwen3: its enable_thinking=False)" };
        var command = new Command("serve", "An OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions) whose requests share one continuous batch")
        {
            host, port, maxBatch, maxQueue, apiKey, maxTokens, template, noThink,
        };
        modelOptions.AddTo(command);
        var speculation = new SpeculationCommandOptions().AddTo(command);
        command.SetGuardedAction(async (parse, output, error, cancellationToken) =>
        {
            var resolved = modelOptions.Resolve(parse, error);
            var setup = speculation.Parse(parse);
            var settings = modelOptions.Settings(parse, resolved);
            using var decoder = DecoderModel.Load(resolved.ExportDir, settings);
            var loaded = new List<IDisposable>();
            using var release = new Disposables(loaded);
            var (speculative, draft) = setup.Prepare(resolved, parse.GetValue(modelOptions.Catalog), parse.GetValue(modelOptions.Precision), error, loaded,
                settings);
            ExecutionOptions.ReportFallback(decoder, error);
            var name = parse.GetValue(modelOptions.Model)!;
            var id = Directory.Exists(name) ? Path.GetFileName(Path.GetFullPath(name).TrimEnd('/', '\\')) : name;
            var served = new ServedModel(id, decoder, resolved.LoadTokenizer(),
                ChatTemplate.ForCheckpoint(resolved.ExportDir, decoder.Manifest.Architecture, parse.GetValue(template),
                    thinking: !parse.GetValue(noThink)));
            var options = new ServeOptions
            {
                Host = parse.GetValue(host)!, Port = parse.GetValue(port), MaxBatch = parse.GetValue(maxBatch), MaxQueue = parse.GetValue(maxQueue),
                ApiKey = parse.GetValue(apiKey), DefaultMaxTokens = parse.GetValue(maxTokens),
                // drafts are greedy whatever a request samples with: verification by each request's sampler keeps it lossless
                Step = Speculation.CreateStep(decoder, speculative, parse.GetValue(maxBatch), SamplingOptions.Greedy, draft),
            };
            if (options.Step is IDisposable step) loaded.Add(step);
            await using var server = CondensaServer.Create(served, options);
            await server.StartAsync(cancellationToken);
            await error.WriteLineAsync($"serving {id} at {server.Address} (batch {options.MaxBatch}, queue {options.MaxQueue}, speculation {speculative.Name}" +
                $"{(options.ApiKey is null ? "" : ", bearer key required")}); Ctrl+C stops");
            try { await Task.Delay(Timeout.Infinite, cancellationToken); }
            catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }
}
