using System.Diagnostics;
using System.Net;
using System.Text.Json;
using DataPlane.Hosting.Listeners;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DataPlane.Edge.Runtimes.Simulation;

/// <summary>The simulated local runtime: a <see cref="SimulatedLocalModel"/> behind an HTTP server
/// that speaks llama.cpp server's wire format, so the agent reaches it through
/// <see cref="LlamaCppRuntime"/>, the same adapter path as a real Pi. It says it is a simulation
/// everywhere: its log lines, its Server header (<see cref="ServerName"/>), its model name
/// ("local-small-sim") and its <c>system_fingerprint</c>.
/// <para>Endpoints: <c>GET /health</c> (and <c>/v1/health</c>): 200 <c>{"status":"ok"}</c>, or 503
/// "Loading model" while <see cref="Ready"/> is false; <c>GET /v1/models</c>;
/// <c>POST /v1/chat/completions</c> and <c>POST /v1/completions</c> with <c>"stream": true</c> (SSE
/// chunks as llama.cpp emits them, with <c>logprobs</c> when asked, usage in a last chunk when
/// <c>stream_options.include_usage</c>, then <c>data: [DONE]</c>) or <c>"stream": false</c> (one JSON
/// object once the whole answer is "generated"). A malformed request gets 400 with llama.cpp's
/// error shape; <c>GET /props</c> answers <c>total_slots</c> (<see cref="SimulatedLocalOptions.Parallelism"/>) as
/// llama.cpp does, so the agent learns the runtime's capacity the same way for both.</para>
/// <para>Like a Pi, it generates <see cref="SimulatedLocalOptions.Parallelism"/> answers at once; later requests
/// wait inside the runtime, first come first served, and their time to first token includes that wait.
/// Generations running side by side slow each other down (<see cref="SimulatedLocalOptions.ConcurrencySlowdown"/>).</para>
/// <para>Tokens are paced on timers against absolute due times; a client that disconnects stops
/// its generation at once (<see cref="RequestsAborted"/>). Disposing the server ends open
/// streams abruptly, as a runtime that dies would.</para>
/// <para>It never reacts to SIGTERM itself (embedded in the agent it stops with the agent): a
/// process hosting it alone disposes it when asked to stop.</para></summary>
public sealed partial class SimulatedLocalRuntimeServer : IAsyncDisposable
{
    /// <summary>The Server header of every answer.</summary>
    public const string ServerName = "dataplane-simulated-local-runtime";

    /// <summary>The <c>system_fingerprint</c> of every completion.</summary>
    public const string SystemFingerprint = "dataplane-simulation";

    private readonly WebApplication _app;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly long _started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private long _nextId;
    private long _completed;
    private long _aborted;
    private long _active;
    private long _waiting;
    // Never disposed: a request still finishing after the server stopped releases its slot (it has no wait handle).
    private readonly SemaphoreSlim _slots;
    private volatile bool _ready = true;
    private int _disposed;

    private SimulatedLocalRuntimeServer(WebApplication app, SimulatedLocalModel model, ILogger logger)
    {
        _app = app;
        Model = model;
        _logger = logger;
        _slots = new SemaphoreSlim(model.Options.Parallelism, model.Options.Parallelism);
    }

    /// <summary>Where the server answers (loopback when bound to every interface).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>The simulated model served.</summary>
    public SimulatedLocalModel Model { get; }

    public SimulatedLocalOptions Options => Model.Options;

    /// <summary>While false, health answers 503 "Loading model" and completions 503, as llama.cpp
    /// does while it loads a model. Default true; lets tests and demos take the runtime "down".</summary>
    public bool Ready
    {
        get => _ready;
        set
        {
            if (_ready != value)
            {
                _ready = value;
                Log.ReadinessChanged(_logger, value);
            }
        }
    }

    /// <summary>Completions answered in full.</summary>
    public long RequestsCompleted => Interlocked.Read(ref _completed);

    /// <summary>Completions stopped early because the client went away (or the server stopped).</summary>
    public long RequestsAborted => Interlocked.Read(ref _aborted);

    /// <summary>Completions being generated now (at most <see cref="SimulatedLocalOptions.Parallelism"/>).</summary>
    public long ActiveRequests => Interlocked.Read(ref _active);

    /// <summary>Completions waiting inside the runtime for a free slot.</summary>
    public long WaitingRequests => Interlocked.Read(ref _waiting);

    /// <summary>Starts the simulated runtime on <paramref name="endPoint"/> (port 0: a free port;
    /// <see cref="Address"/> tells which).</summary>
    /// <param name="options">The simulated model.</param>
    /// <param name="endPoint">Where to listen (plain HTTP/1.1, as llama-server).</param>
    /// <param name="loggers">Where its log lines go (the agent's); none when null.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static async Task<SimulatedLocalRuntimeServer> StartAsync(SimulatedLocalOptions options, IPEndPoint endPoint,
        ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endPoint);
        var model = new SimulatedLocalModel(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "dataplane-sim-local",
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        if (loggers != null)
        {
            builder.Services.AddSingleton(loggers);
        }

        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        BoundListener? bound = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            bound = ListenerSetup.Listen(k, new ListenerOptions("sim-local", endPoint, HttpProtocols.Http1));
        });

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("DataPlane.Edge.Runtimes.Simulation.SimulatedLocalRuntime");
        var server = new SimulatedLocalRuntimeServer(app, model, logger);
        server.Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            server._stopping.Dispose();
            throw;
        }

        server.Address = bound!.Url;
        Log.Serving(logger, options.ModelName, server.Address, options.TimeToFirstToken.TotalMilliseconds, options.TokensPerSecond, options.MaxTokens,
            options.Parallelism);
        return server;
    }

    /// <summary>Stops serving: open streams are cut, then the listener closes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _ready = false;
        Log.Stopping(_logger, Address, ActiveRequests);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void Map(WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.Headers.Server = ServerName;
            return next(context);
        });
        RequestDelegate health = HealthAsync;
        RequestDelegate models = ModelsAsync;
        RequestDelegate props = PropsAsync;
        RequestDelegate chat = context => CompleteAsync(context, chat: true);
        RequestDelegate completion = context => CompleteAsync(context, chat: false);
        app.MapGet("/health", health);
        app.MapGet("/v1/health", health);
        app.MapGet("/v1/models", models);
        app.MapGet("/props", props);
        app.MapPost("/v1/chat/completions", chat);
        app.MapPost("/v1/completions", completion);
    }

    private async Task HealthAsync(HttpContext context)
    {
        if (!_ready)
        {
            await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "Loading model", "unavailable_error").ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, StatusCodes.Status200OK, json =>
        {
            json.WriteStartObject();
            json.WriteString("status"u8, "ok");
            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private Task ModelsAsync(HttpContext context) =>
        WriteJsonAsync(context, StatusCodes.Status200OK, json =>
        {
            json.WriteStartObject();
            json.WriteString("object"u8, "list");
            json.WriteStartArray("data"u8);
            json.WriteStartObject();
            json.WriteString("id"u8, Options.ModelName);
            json.WriteString("object"u8, "model");
            json.WriteNumber("created"u8, _started);
            json.WriteString("owned_by"u8, SystemFingerprint);
            json.WriteStartObject("meta"u8);
            json.WriteBoolean("simulation"u8, true);
            json.WriteNumber("time_to_first_token_ms"u8, Options.TimeToFirstToken.TotalMilliseconds);
            json.WriteNumber("tokens_per_second"u8, Options.TokensPerSecond);
            json.WriteNumber("max_tokens"u8, Options.MaxTokens);
            json.WriteNumber("parallelism"u8, Options.Parallelism);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        });

    /// <summary>llama.cpp's <c>GET /props</c>, the fields the agent reads: <c>total_slots</c>, and a few that say what
    /// this is.</summary>
    private Task PropsAsync(HttpContext context) =>
        WriteJsonAsync(context, StatusCodes.Status200OK, json =>
        {
            json.WriteStartObject();
            json.WriteNumber("total_slots"u8, Options.Parallelism);
            json.WriteString("model_path"u8, Options.ModelName + " (simulation)");
            json.WriteString("build_info"u8, SystemFingerprint);
            json.WriteStartObject("default_generation_settings"u8);
            json.WriteNumber("n_predict"u8, Options.MaxTokens);
            json.WriteEndObject();
            json.WriteEndObject();
        });

    private async Task CompleteAsync(HttpContext context, bool chat)
    {
        long arrived = Stopwatch.GetTimestamp();
        if (!_ready)
        {
            await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "Loading model", "unavailable_error").ConfigureAwait(false);
            return;
        }

        SimulatedCompletionRequest request;
        try
        {
            request = await SimulatedCompletionRequest.ReadAsync(context.Request.Body, chat, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, e.Message, "invalid_request_error").ConfigureAwait(false);
            return;
        }

        long id = Interlocked.Increment(ref _nextId);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        // A slot first, as llama.cpp's task queue: the wait counts in the client's time to first token.
        Interlocked.Increment(ref _waiting);
        try
        {
            await _slots.WaitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _aborted);
            Log.ClientGone(_logger, id, 0, 0);
            return;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        long started = Stopwatch.GetTimestamp();
        var options = Options;
        var exchange = new SimulatedExchange(context, request, Model, id, started,
            () => options.SlowdownFactor((int)Interlocked.Read(ref _active)));
        Interlocked.Increment(ref _active);
        try
        {
            if (request.Stream)
            {
                await exchange.StreamAsync(cancel.Token).ConfigureAwait(false);
            }
            else
            {
                await exchange.RespondOnceAsync(cancel.Token).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _completed);
            Log.Completed(_logger, id, exchange.Sent, exchange.FinishReason, Stopwatch.GetElapsedTime(arrived).TotalMilliseconds);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            Interlocked.Increment(ref _aborted);
            if (_stopping.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
            {
                Log.CutByStop(_logger, id, exchange.Sent, exchange.Planned);
                context.Abort();
            }
            else
            {
                Log.ClientGone(_logger, id, exchange.Sent, exchange.Planned);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _active);
            _slots.Release();
        }
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message, string type) =>
        WriteJsonAsync(context, status, json =>
        {
            json.WriteStartObject();
            json.WriteStartObject("error"u8);
            json.WriteNumber("code"u8, status);
            json.WriteString("message"u8, message);
            json.WriteString("type"u8, type);
            json.WriteEndObject();
            json.WriteEndObject();
        });

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            write(json);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Host lifetime that ignores process signals: the simulation stops when disposed.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2201, Level = LogLevel.Warning,
            Message = "Simulated local runtime (a simulation, not a model) serving {Model} at {Address} in llama.cpp's wire format: first token after {TtftMs} ms, {TokensPerSecond} tokens/s, at most {MaxTokens} tokens, {Parallelism} generations at once")]
        public static partial void Serving(ILogger logger, string model, Uri address, double ttftMs, double tokensPerSecond, int maxTokens, int parallelism);

        [LoggerMessage(EventId = 2202, Level = LogLevel.Debug,
            Message = "Simulated local runtime: request {Id} done, {Tokens} tokens ({FinishReason}) in {ElapsedMs:0} ms")]
        public static partial void Completed(ILogger logger, long id, int tokens, string finishReason, double elapsedMs);

        [LoggerMessage(EventId = 2203, Level = LogLevel.Debug,
            Message = "Simulated local runtime: client of request {Id} went away after {Sent} of {Planned} tokens; generation stopped")]
        public static partial void ClientGone(ILogger logger, long id, int sent, int planned);

        [LoggerMessage(EventId = 2204, Level = LogLevel.Information,
            Message = "Simulated local runtime: request {Id} cut after {Sent} of {Planned} tokens because the simulation is stopping")]
        public static partial void CutByStop(ILogger logger, long id, int sent, int planned);

        [LoggerMessage(EventId = 2205, Level = LogLevel.Information,
            Message = "Simulated local runtime at {Address} stopping ({Active} requests in progress)")]
        public static partial void Stopping(ILogger logger, Uri address, long active);

        [LoggerMessage(EventId = 2206, Level = LogLevel.Information, Message = "Simulated local runtime readiness set to {Ready}")]
        public static partial void ReadinessChanged(ILogger logger, bool ready);
    }
}
