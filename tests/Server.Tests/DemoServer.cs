using System.Text;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.TestSupport;
using Condensa.Tokenization;
using Microsoft.Extensions.Logging;

namespace Condensa.Server.Tests;

/// <summary>
/// demo-code (models/demo-code) exported once per test process, and servers over it on a loopback port of their
/// own. <see cref="Expected"/> is the library's plain <see cref="Generator"/> answer a greedy request must equal.
/// </summary>
internal sealed class DemoServer : IAsyncDisposable
{
    private static readonly Lazy<(DecoderModel Model, ServedModel Served)> Loaded = new(() =>
    {
        var export = DemoExports.Get("demo-code");
        var model = DecoderModel.Load(export);
        var tokenizer = TokenizerFactory.FromCheckpoint(export);
        var template = ChatTemplate.ForCheckpoint(export, model.Manifest.Architecture, null);
        return (model, new ServedModel("demo-code", model, tokenizer, template));
    });

    private DemoServer(CondensaServer server) => Server = server;

    public CondensaServer Server { get; }

    public static ServedModel Model => Loaded.Value.Served;

    public HttpClient Client(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = Server.Address, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        return client;
    }

    public static async Task<DemoServer> StartAsync(ServeOptions? options = null)
    {
        options ??= new ServeOptions();
        var server = CondensaServer.Create(Model, options with { Port = 0, MetricsLogSeconds = 0 },
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        await server.StartAsync();
        return new DemoServer(server);
    }

    /// <summary>The greedy answer of one-at-a-time generation, up to the first stop token, as text.</summary>
    public static async Task<string> Expected(string text, bool chat, int maxTokens)
    {
        var served = Model;
        var prompt = chat
            ? served.Tokenizer.Encode(served.Template.Render([ChatMessage.User(text)], addGenerationPrompt: true), addBos: false)
            : served.Tokenizer.Encode(text, addBos: true);
        var options = new GenerationOptions { MaxNewTokens = maxTokens, StopTokenIds = served.StopTokenIds };
        var decoder = served.Tokenizer.CreateStreamingDecoder();
        var answer = new StringBuilder();
        await foreach (var token in new Generator(Loaded.Value.Model).StreamAsync(prompt, options))
        {
            if (served.StopTokenIds.Contains(token)) break;
            answer.Append(decoder.Append(token));
        }
        var expected = answer.Append(decoder.Flush()).ToString();
        Assert.AreNotEqual("", expected.Trim(), $"'{text}' gets an empty answer, which would make an equality test vacuous");
        return expected;
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
