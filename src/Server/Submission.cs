using System.Threading.Channels;
using Condensa.Runtime.Batching;

namespace Condensa.Server;

/// <summary>One request in the batch: its tokens as they are committed, then its result.</summary>
public sealed class Submission
{
    private readonly Channel<int> _tokens = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
    private readonly TaskCompletionSource<BatchResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal Submission(long id, int promptTokens) => (Id, PromptTokens) = (id, promptTokens);

    /// <summary>The scheduler's id for the request.</summary>
    public long Id { get; }

    /// <summary>Tokens in the prompt.</summary>
    public int PromptTokens { get; }

    /// <summary>Committed tokens in order (a stop token included); completes when the request leaves the batch.</summary>
    public ChannelReader<int> Tokens => _tokens.Reader;

    /// <summary>The batcher's result: tokens, finish reason, or the refusal.</summary>
    public Task<BatchResult> Result => _result.Task;

    internal void OnToken(int token) => _tokens.Writer.TryWrite(token);

    internal void Complete(BatchResult? result, Exception? error)
    {
        _tokens.Writer.TryComplete(error);
        if (result is not null) _result.TrySetResult(result);
        else _result.TrySetException(error!);
    }
}
