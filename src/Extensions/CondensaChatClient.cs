using System.Runtime.CompilerServices;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;
using Condensa.Speculative;
using Condensa.Tokenization;
using Microsoft.Extensions.AI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using TurnMessage = Condensa.Tokenization.ChatMessage;

namespace Condensa.Extensions.AI;

/// <summary>
/// An <see cref="IChatClient"/> over a Condensa model: renders the conversation with the checkpoint's chat template,
/// generates with <see cref="Generator"/> (speculatively when <see cref="CondensaChatClientOptions.Speculation"/> asks) and
/// streams the reply as text. Safe for concurrent calls: the model is shared and every call owns its KV cache, sampler,
/// decode step and text decoder.
/// </summary>
/// <remarks>
/// ChatOptions used: MaxOutputTokens, Temperature, TopP, TopK, Seed, StopSequences (the reply ends before the first
/// one), Instructions (a system message ahead of the conversation) and ModelId (reported only). Tools, response
/// formats and penalties other than these are ignored: the model is a plain text generator. Messages must be text
/// with roles system, user and assistant, in the order the template accepts (user/assistant alternating).
/// </remarks>
public sealed class CondensaChatClient : IChatClient
{
    private readonly IDecoder _model;
    private readonly IDisposable? _owned;
    private readonly CheckpointTokenizer _tokenizer;
    private readonly ChatTemplate _template;
    private readonly CondensaChatClientOptions _options;
    private readonly IReadOnlyList<int> _stopTokens;

    /// <summary>Creates a client over a loaded model, its tokenizer and chat template. The caller keeps ownership of the model.</summary>
    public CondensaChatClient(IDecoder model, CheckpointTokenizer tokenizer, ChatTemplate template, CondensaChatClientOptions? options = null)
        : this(model, tokenizer, template, options ?? new CondensaChatClientOptions(), owned: null)
    {
    }

    private CondensaChatClient(IDecoder model, CheckpointTokenizer tokenizer, ChatTemplate template, CondensaChatClientOptions options, IDisposable? owned)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _template = template ?? throw new ArgumentNullException(nameof(template));
        _options = options;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxOutputTokens, 1, nameof(options));
        _owned = owned;
        options.Speculation.Validate();
        _stopTokens = tokenizer.StopTokenIds(model.Manifest.EosTokenIds);
        Metadata = new ChatClientMetadata("condensa", null, options.ModelId ?? model.Manifest.Architecture);
    }

    /// <summary>Loads an export folder (written by <c>condensa export</c>) with its tokenizer and chat template; the client owns the model.</summary>
    public static CondensaChatClient Load(string exportDir, CondensaChatClientOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(exportDir);
        options ??= new CondensaChatClientOptions();
        var model = DecoderModel.Load(exportDir, options.Session);
        try
        {
            var tokenizer = TokenizerFactory.FromCheckpoint(exportDir);
            var template = ChatTemplate.ForCheckpoint(exportDir, model.Manifest.Architecture, options.Template, options.Thinking);
            var modelId = options.ModelId ?? Path.GetFileName(Path.GetFullPath(exportDir).TrimEnd('/', '\\'));
            return new CondensaChatClient(model, tokenizer, template, options with { ModelId = modelId }, model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Provider name "condensa" and the model id.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        cancellationToken.ThrowIfCancellationRequested();

        // 1) prompt: the conversation through the chat template, ending where the assistant's reply begins
        var prompt = _tokenizer.Encode(_template.Render(Turns(messages, options?.Instructions), addGenerationPrompt: true), addBos: false);
        var generation = Generation(options, prompt.Count);
        var responseId = Guid.NewGuid().ToString("N");
        var modelId = options?.ModelId ?? Metadata.DefaultModelId;
        var created = DateTimeOffset.UtcNow;
        ChatResponseUpdate Update(string text) => new(ChatRole.Assistant, text)
        {
            ResponseId = responseId, MessageId = responseId, ModelId = modelId, CreatedAt = created,
        };

        // 2) generate, releasing text as it completes (held back while it may start a stop sequence)
        var stats = new GenerationStats();
        var text = _tokenizer.CreateStreamingDecoder();
        var stops = new StopSequenceFilter(options?.StopSequences ?? []);
        var finish = ChatFinishReason.Length;
        var step = Speculation.CreateStep(_model, _options.Speculation, batchSize: 1, generation.Sampling, _options.DraftModel);
        try
        {
            await foreach (var token in new Generator(_model, step).StreamAsync(prompt, generation, stats, cancellationToken: cancellationToken)
                .ConfigureAwait(false))
            {
                if (_stopTokens.Contains(token)) { finish = ChatFinishReason.Stop; break; }
                var piece = stops.Append(text.Append(token));
                if (piece.Length > 0) yield return Update(piece);
                if (stops.Stopped) { finish = ChatFinishReason.Stop; break; }
            }
        }
        finally
        {
            (step as IDisposable)?.Dispose();
        }
        var tail = stops.Append(text.Flush()) + stops.Flush();
        if (stops.Stopped) finish = ChatFinishReason.Stop;
        if (tail.Length > 0) yield return Update(tail);

        // 3) the closing update: why it stopped and the token counts
        var last = Update("");
        last.Contents = [new UsageContent(new UsageDetails
        {
            InputTokenCount = stats.PromptTokens,
            OutputTokenCount = stats.GeneratedTokens,
            TotalTokenCount = stats.PromptTokens + stats.GeneratedTokens,
        })];
        last.FinishReason = finish;
        yield return last;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return Metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_model)) return _model;
        if (serviceType.IsInstanceOfType(_tokenizer)) return _tokenizer;
        if (serviceType.IsInstanceOfType(_template)) return _template;
        return null;
    }

    /// <summary>Disposes the model when <see cref="Load"/> created it.</summary>
    public void Dispose() => _owned?.Dispose();

    /// <summary>The conversation as template turns: an Instructions system message first, text content only.</summary>
    internal static List<TurnMessage> Turns(IEnumerable<AiChatMessage> messages, string? instructions)
    {
        var turns = new List<TurnMessage>();
        var index = 0;
        foreach (var message in messages)
        {
            var role = message.Role.Value;
            if (role != ChatRole.System.Value && role != ChatRole.User.Value && role != ChatRole.Assistant.Value)
                throw new ArgumentException($"Message {index} has role '{role}'; a Condensa chat takes system, user and assistant messages.", nameof(messages));
            turns.Add(new TurnMessage(role, message.Text));
            index++;
        }
        if (instructions is { Length: > 0 })
        {
            // Instructions join an existing system message (templates take one, first) or become it.
            if (turns.Count > 0 && turns[0].Role == "system") turns[0] = turns[0] with { Content = instructions + "\n" + turns[0].Content };
            else turns.Insert(0, TurnMessage.System(instructions));
        }
        return turns;
    }

    /// <summary>Generation settings of a call: its options over the client's defaults; the default length is cut to the context.</summary>
    private GenerationOptions Generation(ChatOptions? options, int promptTokens)
    {
        var room = _model.Manifest.MaxContext - promptTokens + 1;   // the last token is never fed back
        var maxTokens = options?.MaxOutputTokens ?? Math.Min(_options.MaxOutputTokens, Math.Max(room, 1));
        if (maxTokens < 1) throw new ArgumentOutOfRangeException(nameof(options), maxTokens, "ChatOptions.MaxOutputTokens must be at least 1.");
        var sampling = _options.Sampling;
        if (options is not null)
        {
            sampling = sampling with
            {
                Temperature = options.Temperature ?? sampling.Temperature,
                TopP = options.TopP ?? sampling.TopP,
                TopK = options.TopK ?? sampling.TopK,
                Seed = options.Seed is { } seed ? unchecked((int)seed) : sampling.Seed,
            };
        }
        sampling.Validate();
        return new GenerationOptions { MaxNewTokens = maxTokens, Sampling = sampling, StopTokenIds = _stopTokens };
    }
}
