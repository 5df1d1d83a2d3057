using Condensa.Runtime;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;
using Condensa.Tokenization;

namespace Condensa.Cli.Extraction;

/// <summary>What one <c>condensa extract</c> run does.</summary>
internal sealed record ExtractionSettings(string Input, string Output, string PromptTemplate, BatchOptions Batch, ShardSpec Shard);

/// <summary>
/// An extraction job: reads the input records of this shard that the output does not hold yet, renders each with the
/// prompt template, generates them with continuous batching, and appends one output record per input record in
/// completion order. Records that cannot run (malformed input, missing template field, too long) get an error record
/// and the job goes on.
/// </summary>
internal sealed class ExtractionJob(IDecoder model, CheckpointTokenizer tokenizer, IDecodeStep step, ExtractionSettings settings)
{
    /// <summary>Runs the job, appending to <paramref name="output"/> (<see cref="OutputLog.Open"/> of settings.Output, taken
    /// by the caller before the model loads, so a second job on the same output fails at once); the returned progress
    /// holds the counts and rates.</summary>
    public ExtractionProgress Run(OutputLog output, TextWriter error, bool terminal, GenerationStats stats, CancellationToken cancellationToken)
    {
        var template = Extraction.PromptTemplate.Load(settings.PromptTemplate);
        bool Pending(InputRecord r) => settings.Shard.Contains(r.Ordinal) && !output.Done.Contains(r.Key);
        var total = InputReader.Read(settings.Input).LongCount(Pending);   // a first pass, so the bar knows its end
        if (output.Done.Count > 0) error.WriteLine($"[extract] resuming {settings.Output}: {output.Done.Count} records already done, {total} to go");

        return ExtractionProgress.Run(total, error, terminal, progress =>
        {
            var inFlight = new Dictionary<long, InputRecord>();
            var batcher = new ContinuousBatcher(model, step);
            foreach (var result in batcher.Run(Requests(template, output, progress, inFlight, Pending), settings.Batch, stats, cancellationToken))
            {
                var record = inFlight[result.Id];
                inFlight.Remove(result.Id);
                if (result.Error is { } refused)
                {
                    output.Append(ExtractionRecord.Error(record, $"{Where(record)}: {refused}"));
                    progress.Record(error: true, 0);
                    continue;
                }
                output.Append(ExtractionRecord.Success(record, result, Text(result)));
                progress.Record(error: false, result.Tokens.Count);
            }
        });
    }

    /// <summary>The batch requests of the pending records. A record that cannot become a prompt is answered here at once
    /// (it needs no batch row); this runs on the batcher's thread, between its passes, so writes never interleave.</summary>
    private IEnumerable<BatchRequest> Requests(PromptTemplate template, OutputLog output, ExtractionProgress progress,
        Dictionary<long, InputRecord> inFlight, Func<InputRecord, bool> pending)
    {
        foreach (var record in InputReader.Read(settings.Input))
        {
            if (!pending(record)) continue;
            var (prompt, error) = record.Error is null ? template.Render(record.Fields!) : (null, record.Error);
            if (prompt is null)
            {
                output.Append(ExtractionRecord.Error(record, record.Error ?? $"{Where(record)}: {error}"));
                progress.Record(error: true, 0);
                continue;
            }
            inFlight[record.Ordinal] = record;
            yield return new BatchRequest(record.Ordinal, tokenizer.Encode(prompt, addBos: true));
        }
    }

    /// <summary>The generated text, without the stop token that ended it.</summary>
    private string Text(BatchResult result)
    {
        var tokens = result.FinishReason == FinishReason.Stop ? result.Tokens.Take(result.Tokens.Count - 1) : result.Tokens;
        return tokenizer.Decode(tokens);
    }

    private string Where(InputRecord record) => record.Line is { } line ? $"{settings.Input}:{line}" : Path.Combine(settings.Input, record.File!);
}
