using Condensa.Extensions.AI;

namespace Condensa.Server;

/// <summary>
/// One request's trip through the shared batch: submits it, turns its tokens into text as they are committed (held
/// back while it may start a stop string) and reports why it ended. A stop string or the client going away cancels
/// the request, which frees its row before the batch's next pass.
/// </summary>
internal sealed class CompletionRun(ServedModel model, BatchScheduler scheduler, CompletionRequest request)
{
    /// <summary>Tokens generated (a stop token included, as the batcher counts them).</summary>
    public int CompletionTokens { get; private set; }

    /// <summary>Tokens drafted for this request and accepted, under speculation; set once <see cref="RunAsync"/> returns.</summary>
    public (int Proposed, int Accepted) Drafts { get; private set; }

    /// <summary>"stop" or "length"; set once <see cref="RunAsync"/> returns.</summary>
    public string FinishReason { get; private set; } = "length";

    /// <summary>Generates, calling <paramref name="onText"/> with each piece of text; throws <see cref="ApiException"/> 429 when the queue is full.</summary>
    public async Task RunAsync(Func<string, Task> onText, CancellationToken aborted)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var submission = scheduler.Submit(request.Prompt, request.Generation, cancel.Token)
            ?? throw new ApiException(429, $"The server is busy: {scheduler.Open} requests are open; retry later.", type: "rate_limit_error",
                code: "queue_full");
        try
        {
            // 1) tokens -> text, stop strings held back
            var text = model.Tokenizer.CreateStreamingDecoder();
            var stops = new StopSequenceFilter(request.Stop);
            string? finish = null;
            await foreach (var token in submission.Tokens.ReadAllAsync(aborted).ConfigureAwait(false))
            {
                CompletionTokens++;
                if (model.StopTokenIds.Contains(token)) { finish = "stop"; break; }
                var piece = stops.Append(text.Append(token));
                if (piece.Length > 0) await onText(piece).ConfigureAwait(false);
                if (stops.Stopped) { finish = "stop"; break; }
            }
            if (finish is not null) cancel.Cancel();   // a stop string: the row is freed before the next pass

            // 2) the batcher's verdict: a refusal is the client's error (the parser admits little that the batcher refuses)
            var result = await submission.Result.WaitAsync(aborted).ConfigureAwait(false);
            if (result.Error is { } error) throw new ApiException(400, error);
            Drafts = (result.DraftsProposed, result.DraftsAccepted);
            finish ??= result.FinishReason == Runtime.Generation.FinishReason.Stop ? "stop" : "length";

            // 3) the text still held by the decoder and the stop filter
            var tail = stops.Append(text.Flush()) + stops.Flush();
            if (stops.Stopped) finish = "stop";
            if (tail.Length > 0) await onText(tail).ConfigureAwait(false);
            FinishReason = finish;
        }
        finally
        {
            cancel.Cancel();   // whatever ended this call (client gone, error), the request leaves the batch
        }
    }
}
