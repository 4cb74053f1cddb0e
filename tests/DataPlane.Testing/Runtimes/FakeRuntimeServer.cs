using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using DataPlane.Edge.Runtimes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DataPlane.Testing;

/// <summary>What a fake runtime received.</summary>
public sealed record CapturedRequest(string Method, string Path, string Body, string Accept, string ContentType, string TraceParent)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

/// <summary>A stand-in for a local runtime: Kestrel on 127.0.0.1, a free port, answering every
/// request with a scripted response written per the runtime's documented wire format. Records
/// what it received and whether a client went away mid-answer.</summary>
public sealed class FakeRuntimeServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeRuntimeServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ConcurrentQueue<CapturedRequest> Requests { get; } = new();

    /// <summary>Completes when a client goes away during an exchange: while its request is read, or while a response
    /// (one held open by <see cref="HoldOpenAsync"/>, say) is written.</summary>
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CapturedRequest Single() => Assert.Single(Requests);

    public static async Task<FakeRuntimeServer> StartAsync(Func<HttpContext, FakeRuntimeServer, Task> respond)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        FakeRuntimeServer? server = null;
        var ready = new TaskCompletionSource<FakeRuntimeServer>(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Run(async context =>
        {
            var self = await ready.Task;
            // A client that goes away at any point of the exchange counts, also before a response has begun: a
            // client whose timeout fires while a busy machine has not yet read its request is gone all the same.
            using var gone = context.RequestAborted.Register(() => self.Aborted.TrySetResult());
            string body;
            try
            {
                body = await new StreamReader(context.Request.Body, Encoding.UTF8).ReadToEndAsync(context.RequestAborted);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                self.Aborted.TrySetResult();
                return;
            }

            self.Requests.Enqueue(new CapturedRequest(context.Request.Method, context.Request.Path.Value ?? "", body,
                context.Request.Headers.Accept.ToString(), context.Request.ContentType ?? "", context.Request.Headers["traceparent"].ToString()));
            await respond(context, self);
        });
        await app.StartAsync();
        var port = new Uri(app.Urls.Single()).Port;
        server = new FakeRuntimeServer(app, new Uri($"http://127.0.0.1:{port}/"));
        ready.SetResult(server);
        return server;
    }

    /// <summary>A server answering every request with <paramref name="lines"/> (each followed by '\n').</summary>
    public static Task<FakeRuntimeServer> LinesAsync(string contentType, params string[] lines) =>
        StartAsync((context, _) => WriteLinesAsync(context, contentType, lines));

    /// <summary>A server answering every request with <paramref name="status"/> and <paramref name="body"/>.</summary>
    public static Task<FakeRuntimeServer> StatusAsync(int status, string body, string contentType = "application/json") =>
        StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = contentType;
            await context.Response.WriteAsync(body);
        });

    public static async Task WriteLinesAsync(HttpContext context, string contentType, IEnumerable<string> lines)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = contentType;
        foreach (string line in lines)
        {
            await context.Response.WriteAsync(line + "\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    /// <summary>Writes <paramref name="lines"/>, then keeps the response open (sending
    /// <paramref name="keepAlive"/> every 100 ms, for 30 s at most) until the client goes away,
    /// which completes <see cref="Aborted"/> (the handler of <see cref="StartAsync"/> watches the request's abort; a
    /// failed write counts too).</summary>
    public async Task HoldOpenAsync(HttpContext context, string contentType, string keepAlive, params string[] lines)
    {
        try
        {
            await WriteLinesAsync(context, contentType, lines);
            for (int i = 0; i < 300; i++)
            {
                await Task.Delay(100, context.RequestAborted);
                await context.Response.WriteAsync(keepAlive + "\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            Aborted.TrySetResult();
        }
    }

    /// <summary>An http:// address on which nothing listens (connections are refused).</summary>
    public static Uri UnusedAddress()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The client the agent would use: one keep-alive pool. Draining abandoned responses is
/// made slow (30 s), so tests that expect an early close prove the adapter closes the connection
/// itself rather than leaving it to the handler's drain.</summary>
public static class TestHttp
{
    public static HttpClient CreateClient() => new(new SocketsHttpHandler
    {
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        ResponseDrainTimeout = TimeSpan.FromSeconds(30),
        MaxResponseDrainSize = 64 << 20,
    });

    public static async Task<List<TokenChunk>> CollectAsync(IAsyncEnumerable<TokenChunk> stream, CancellationToken cancellationToken = default)
    {
        var chunks = new List<TokenChunk>();
        await foreach (var chunk in stream.WithCancellation(cancellationToken))
        {
            chunks.Add(chunk);
        }

        return chunks;
    }

    /// <summary>Completes with <paramref name="task"/>, or fails the test after <paramref name="seconds"/>.</summary>
    public static async Task Within(Task task, double seconds, string what)
    {
        var winner = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(seconds)));
        Assert.True(winner == task, $"{what} did not happen within {seconds} s");
        await task;
    }
}
