using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Condensa.Server;

/// <summary>
/// <c>condensa serve</c>: an OpenAI-compatible HTTP server (Kestrel) over one model. Every request joins the one
/// continuous batch of a <see cref="BatchScheduler"/>; this class only maps HTTP to it: routes, the bearer check,
/// body limits, errors in OpenAI's shape.
/// </summary>
public sealed class CondensaServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServedModel _model;
    private readonly ServeOptions _options;
    private readonly Timer? _metricsLog;
    private static readonly System.Text.Json.JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower };

    private CondensaServer(WebApplication app, ServedModel model, ServeOptions options, BatchScheduler scheduler)
    {
        (_app, _model, _options, Scheduler) = (app, model, options, scheduler);
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Condensa.Server");
        if (options.MetricsLogSeconds > 0)
        {
            var period = TimeSpan.FromSeconds(options.MetricsLogSeconds);
            _metricsLog = new Timer(_ => LogMetrics(log), null, period, period);
        }
    }

    /// <summary>The shared batch.</summary>
    public BatchScheduler Scheduler { get; }

    /// <summary>The address the server listens on (with the port chosen when <see cref="ServeOptions.Port"/> is 0); valid after <see cref="StartAsync"/>.</summary>
    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>Builds the server; <paramref name="logging"/> configures its logs (console by default).</summary>
    public static CondensaServer Create(ServedModel model, ServeOptions options, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);   // a line per request would drown the metrics lines
        if (logging is not null) logging(builder.Logging);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        builder.WebHost.UseUrls($"http://{options.Host}:{options.Port}");
        var app = builder.Build();
        var scheduler = new BatchScheduler(model.Model, options.MaxBatch, options.MaxQueue, step: options.Step);
        var server = new CondensaServer(app, model, options, scheduler);
        server.Map();
        return server;
    }

    /// <summary>Starts listening.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Serves until <paramref name="cancellationToken"/> (Ctrl+C in the CLI).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken);
        try { await Task.Delay(Timeout.Infinite, cancellationToken); }
        catch (OperationCanceledException) { }
    }

    private void Map()
    {
        _app.Use(Guard);
        _app.MapGet("/health", () => Results.Json(new JsonObject { ["status"] = "ok" }));
        _app.MapGet("/metrics", () => Results.Json(Metrics(), SnakeCase));
        _app.MapGet("/v1/models", () => Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject { ["id"] = _model.Id, ["object"] = "model", ["created"] = 0, ["owned_by"] = "condensa" }),
        }));
        _app.MapPost("/v1/chat/completions", context => Complete(context, chat: true));
        _app.MapPost("/v1/completions", context => Complete(context, chat: false));
    }

    /// <summary>The bearer check and the error mapping, around every route.</summary>
    private async Task Guard(HttpContext context, RequestDelegate next)
    {
        try
        {
            if (_options.ApiKey is { } key && context.Request.Path != "/health"
                && context.Request.Headers.Authorization.ToString() != $"Bearer {key}")
                throw new ApiException(401, "Missing or wrong API key: send 'Authorization: Bearer KEY'.", type: "authentication_error", code: "invalid_api_key");
            await next(context);
        }
        catch (ApiException e) when (!context.Response.HasStarted)
        {
            context.Response.StatusCode = e.Status;
            await context.Response.WriteAsJsonAsync(e.ToJson(), context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            // Kestrel's own limits (the body size among them)
            context.Response.StatusCode = e.StatusCode;
            await context.Response.WriteAsJsonAsync(new ApiException(e.StatusCode, e.Message).ToJson(), context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // the client went away; its request has already left the batch
        }
    }

    private async Task Complete(HttpContext context, bool chat)
    {
        // 1) the body, within the size limit, parsed into a request the batch can run
        var body = await ReadBody(context.Request);
        var request = CompletionRequest.Parse(body, chat, _model, _options.DefaultMaxTokens);
        var run = new CompletionRun(_model, Scheduler, request);
        var reply = new CompletionReply(_model.Id, chat);

        // 2) generate: streamed as server-sent events, or gathered into one JSON answer
        if (request.Stream)
        {
            var started = false;
            await run.RunAsync(async piece =>
            {
                if (!started) { started = true; await reply.BeginStream(context.Response, context.RequestAborted); }
                await reply.WriteChunk(context.Response, piece, null, context.RequestAborted);
            }, context.RequestAborted);
            if (!started) await reply.BeginStream(context.Response, context.RequestAborted);
            await reply.WriteChunk(context.Response, "", run.FinishReason, context.RequestAborted);
            if (request.IncludeUsage) await reply.WriteUsage(context.Response, request.Prompt.Count, run.CompletionTokens, run.Drafts, context.RequestAborted);
            await reply.EndStream(context.Response, context.RequestAborted);
        }
        else
        {
            var text = new System.Text.StringBuilder();
            await run.RunAsync(piece => { text.Append(piece); return Task.CompletedTask; }, context.RequestAborted);
            await context.Response.WriteAsJsonAsync(reply.Whole(text.ToString(), run.FinishReason, request.Prompt.Count, run.CompletionTokens, run.Drafts),
                context.RequestAborted);
        }
    }

    private async Task<byte[]> ReadBody(HttpRequest request)
    {
        if (request.ContentLength > _options.MaxBodyBytes) throw TooLarge();
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + n > _options.MaxBodyBytes) throw TooLarge();
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    private ApiException TooLarge() => new(413, $"The request body is larger than this server's limit of {_options.MaxBodyBytes} bytes.");

    private MetricsSnapshot Metrics() => Scheduler.Metrics.Snapshot(Scheduler.Open, Scheduler.Queued, Scheduler.MaxBatch);

    private void LogMetrics(ILogger log)
    {
        var m = Metrics();
        if (m.Running == 0 && m.Queued == 0) return;   // quiet while idle
        log.LogInformation("{Running}/{Rows} rows busy, {Queued} queued, {Rate:F1} generated tok/s since start, {Completed} done, {Cancelled} cancelled, {Rejected} rejected, draft acceptance {Acceptance:P1}",
            m.Running, m.BatchRows, m.Queued, m.GeneratedTokensPerSecond, m.Completed, m.Cancelled, m.Rejected, m.AcceptanceRate);
    }

    /// <summary>Stops listening and ends the batch.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_metricsLog is not null) await _metricsLog.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Scheduler.Dispose();
    }
}
