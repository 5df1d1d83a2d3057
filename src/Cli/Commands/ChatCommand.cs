using System.CommandLine;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;
using Condensa.Tokenization;

namespace Condensa.Cli.Commands;

/// <summary><c>condensa chat</c>: a REPL that keeps the KV cache between turns. Lines starting with '/' are
/// commands: /reset forgets the conversation, /exit ends (so does end of input).</summary>
internal static class ChatCommand
{
    public static Command Create(TextReader input)
    {
        var modelOptions = new ModelOptions();
        var system = new Option<string?>("--system") { Description = "System message" };
        var template = new Option<string?>("--template") { Description = $"Chat template: {string.Join(", ", ChatTemplate.Names)} (default: from the checkpoint)" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per reply", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 = greedy", DefaultValueFactory = _ => 0.7f };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling mass", DefaultValueFactory = _ => 0.9f };
        var seed = new Option<int?>("--seed") { Description = "Random seed" };
        var command = new Command("chat", "Chat with a model; the KV cache is kept between turns")
        {
            system, template, maxTokens, temperature, topP, seed,
        };
        modelOptions.AddTo(command);
        command.SetGuardedAction(async (parse, output, error, cancellationToken) =>
        {
            var resolved = modelOptions.Resolve(parse, error);
            using var decoder = DecoderModel.Load(resolved.ExportDir, modelOptions.Settings(parse, resolved));
            ExecutionOptions.ReportFallback(decoder, error);
            var tokenizer = resolved.LoadTokenizer();
            var chatTemplate = ChatTemplate.ForCheckpoint(resolved.ExportDir, decoder.Manifest.Architecture, parse.GetValue(template));
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxTokens),
                Sampling = new SamplingOptions { Temperature = parse.GetValue(temperature), TopP = parse.GetValue(topP), Seed = parse.GetValue(seed) },
                StopTokenIds = tokenizer.StopTokenIds(decoder.Manifest.EosTokenIds),
            };
            using var session = new ChatSession(decoder, tokenizer, chatTemplate, options);
            if (parse.GetValue(system) is { } s) session.SetSystem(s);
            await error.WriteLineAsync($"chat with {Path.GetFileName(resolved.ExportDir)} (template {chatTemplate.Name}); /reset, /exit");
            return await Loop(session, tokenizer, input, output, error, cancellationToken);
        });
        return command;
    }

    private static async Task<int> Loop(ChatSession session, CheckpointTokenizer tokenizer, TextReader input, TextWriter output, TextWriter error,
        CancellationToken cancellationToken)
    {
        var turn = 0;
        while (await input.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Trim() == "/exit") break;
            if (line.Trim() == "/reset") { session.Reset(); await error.WriteLineAsync("(conversation reset)"); continue; }
            if (line.Length == 0) continue;
            var stats = new GenerationStats();
            var text = tokenizer.CreateStreamingDecoder();
            await foreach (var token in session.ReplyAsync(line, stats, cancellationToken))
                await output.WriteAsync(text.Append(token));
            await output.WriteLineAsync(text.Flush());
            turn++;
            await error.WriteLineAsync($"[turn {turn}: fed {stats.PromptTokens} tokens ({(session.LastTurnAppended ? "appended" : "prefilled")}), " +
                $"generated {stats.GeneratedTokens}, decode {stats.DecodeTokensPerSecond:F1} tok/s, cache {session.CachedTokens} tokens]");
        }
        return 0;
    }
}
