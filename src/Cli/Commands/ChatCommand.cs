using System.CommandLine;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;
using Condensa.Speculative;
using Condensa.Tokenization;

namespace Condensa.Cli.Commands;

/// <summary><c>condensa chat</c>: a REPL that keeps the KV cache between turns. Lines starting with '/' are
/// commands: /reset forgets the conversation, /exit ends (so does end of input). Ctrl+C stops the reply being written.</summary>
internal static class ChatCommand
{
    /// <summary>Written on stderr before each line is read, so the reply on stdout stays clean.</summary>
    public const string InputMarker = "> ";

    public static Command Create(TextReader input, ChatInterrupts? interrupts)
    {
        var modelOptions = new ModelOptions();
        var system = new Option<string?>("--system") { Description = "System message" };
        var template = new Option<string?>("--template") { Description = $"Chat template: {string.Join(", ", ChatTemplate.Names)} (default: from the checkpoint)" };
        var noThink = new Option<bool>("--no-think") { Description = "Reply without reasoning where the template can (Qwen3: its enable_thinking=False)" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per reply", DefaultValueFactory = _ => 256 }.AtLeast(1);
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 = greedy", DefaultValueFactory = _ => 0.7f }.AtLeast(0);
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling mass", DefaultValueFactory = _ => 0.9f }.AboveAndAtMost(0, 1);
        var seed = new Option<int?>("--seed") { Description = "Random seed" };
        var command = new Command("chat", "Chat with a model; the KV cache is kept between turns")
        {
            system, template, noThink, maxTokens, temperature, topP, seed,
        };
        modelOptions.AddTo(command);
        var speculation = new SpeculationCommandOptions().AddTo(command);
        command.SetGuardedAction(async (parse, output, error, cancellationToken) =>
        {
            var resolved = modelOptions.Resolve(parse, error);
            var setup = speculation.Parse(parse);
            var settings = modelOptions.Settings(parse, resolved);
            using var decoder = DecoderModel.Load(resolved.ExportDir, settings);
            ExecutionOptions.ReportFallback(decoder, error);
            var tokenizer = resolved.LoadTokenizer();
            var chatTemplate = ChatTemplate.ForCheckpoint(resolved.ExportDir, decoder.Manifest.Architecture, parse.GetValue(template),
                thinking: !parse.GetValue(noThink));
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxTokens),
                Sampling = new SamplingOptions { Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), Seed = parse.GetValue(seed) },
                StopTokenIds = tokenizer.StopTokenIds(decoder.Manifest.EosTokenIds),
            };
            var loaded = new List<IDisposable>();
            using var release = new Disposables(loaded);
            var (speculative, draft) = setup.Prepare(resolved, parse.GetValue(modelOptions.Catalog), parse.GetValue(modelOptions.Precision), error, loaded,
                settings);
            var step = Speculation.CreateStep(decoder, speculative, batchSize: 1, options.Sampling, draft);
            if (step is IDisposable owned) loaded.Add(owned);
            using var session = new ChatSession(decoder, tokenizer, chatTemplate, options, step);
            if (parse.GetValue(system) is { } s) session.SetSystem(s);
            await error.WriteLineAsync($"chat with {Path.GetFileName(resolved.ExportDir)} (template {chatTemplate.Name}); /reset, /exit; " +
                "Ctrl+C stops a reply");
            using var ownInterrupts = interrupts is null ? ChatInterrupts.FromConsole() : null;
            return await Loop(session, tokenizer, input, output, error, interrupts ?? ownInterrupts!, cancellationToken);
        });
        return command;
    }

    private static async Task<int> Loop(ChatSession session, CheckpointTokenizer tokenizer, TextReader input, TextWriter output, TextWriter error,
        ChatInterrupts interrupts, CancellationToken cancellationToken)
    {
        var turn = 0;
        while (true)
        {
            await error.WriteAsync(InputMarker);
            await error.FlushAsync(cancellationToken);
            if (await input.ReadLineAsync(cancellationToken) is not { } line) break;
            if (line.Trim() == "/exit") break;
            if (line.Trim() == "/reset") { session.Reset(); await error.WriteLineAsync("(conversation reset)"); continue; }
            if (line.Length == 0) continue;

            var stats = new GenerationStats();
            var text = tokenizer.CreateStreamingDecoder();
            var reply = interrupts.BeginReply(cancellationToken);
            var stopped = false;
            try
            {
                await foreach (var token in session.ReplyAsync(line, stats, reply))
                {
                    if (stats.GeneratedTokens == 1 && session.LastTurnDropped > 0)
                        await error.WriteLineAsync($"(context full: {session.ContextTokens} tokens; dropped the oldest {session.LastTurnDropped} " +
                            $"exchange{(session.LastTurnDropped == 1 ? "" : "s")} and continued)");
                    await output.WriteAsync(text.Append(token));
                    await output.FlushAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException) when (reply.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                stopped = true;
            }
            catch (CondensaException e) when (stats.GeneratedTokens == 0)
            {
                // Nothing of this turn was kept (the message cannot fit the context); the conversation goes on.
                await error.WriteLineAsync($"error: {e.Message}");
                continue;
            }
            finally
            {
                interrupts.EndReply();
            }
            await output.WriteLineAsync(text.Flush());
            turn++;
            if (stopped) await error.WriteLineAsync("(reply stopped)");
            await error.WriteLineAsync($"[turn {turn}: fed {stats.PromptTokens} tokens ({(session.LastTurnAppended ? "appended" : "prefilled")}), " +
                $"generated {stats.GeneratedTokens}, decode {stats.DecodeTokensPerSecond:F1} tok/s, cache {session.CachedTokens} tokens]");
        }
        return 0;
    }
}
