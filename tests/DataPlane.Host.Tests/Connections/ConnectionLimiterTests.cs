using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Host.Tests.Infrastructure;
using DataPlane.Hosting.Listeners;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace DataPlane.Host.Tests.Connections;

/// <summary>The limiter itself, and on a real Kestrel listener: a connection beyond the cap is closed as soon as it
/// is accepted, before TLS, and counted; its place comes back when an accepted connection closes.</summary>
public sealed class ConnectionLimiterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dataplane-limits-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Concurrent_acquires_never_exceed_the_limit()
    {
        var limiter = new ConnectionLimiter("grpc", 10);
        int peak = 0;
        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => Task.Run(() =>
        {
            bool ok = limiter.TryAcquire();
            int open = limiter.Open;
            InterlockedMax(ref peak, open);
            return ok;
        })));

        Assert.Equal(10, results.Count(r => r));
        Assert.Equal(10, limiter.Open);
        Assert.Equal(10, limiter.Accepted);
        Assert.Equal(990, limiter.Refused);
        Assert.True(peak <= 10, $"open count reached {peak}");

        limiter.Release();
        Assert.True(limiter.TryAcquire());
        Assert.False(limiter.TryAcquire());
    }

    [Fact]
    public void A_lease_releases_once_and_a_release_without_an_accept_is_a_bug()
    {
        var limiter = new ConnectionLimiter("transfer", 1);
        var lease = limiter.TryLease();
        Assert.NotNull(lease);
        Assert.Null(limiter.TryLease());
        lease.Dispose();
        lease.Dispose();
        Assert.Equal(0, limiter.Open);
        Assert.Throws<InvalidOperationException>(limiter.Release);
        Assert.Equal(0, limiter.Open);
    }

    [Fact]
    public void Refusals_are_logged_at_most_once_a_minute_with_the_count()
    {
        var time = new ManualClock();
        var log = new ListLogger();
        var limits = ConnectionLimits.Create(ConnectionBudget.Agent,
            new ConnectionLimitOptions { MaxConnections = new Dictionary<string, int> { ["api"] = 1 } },
            new DataPlane.Interop.Resources.DescriptorLimit(4096, 4096), time);
        limits.UseLogger(log);
        var api = limits["api"];
        Assert.True(api.TryAcquire());

        for (int i = 0; i < 50; i++)
        {
            Assert.False(api.TryAcquire());
        }

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(api.TryAcquire());
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(api.TryAcquire());

        var warnings = log.Lines.Where(l => l.Contains("at its limit", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains("Listener api is at its limit of 1 connections", warnings[0]);
        Assert.Contains("(1 since the last warning, 1 in all)", warnings[0]);
        Assert.Contains("(51 since the last warning, 52 in all)", warnings[1]);
        Assert.Contains(log.Lines, l => l.Contains("Connection limits (descriptor limit 4096, 768 kept", StringComparison.Ordinal)
            && l.Contains("admin 64, api 1 (configured)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Over_the_cap_a_TLS_listener_closes_the_connection_before_the_handshake()
    {
        var limiter = new ConnectionLimiter("grpc", 2);
        await using var app = await StartAsync(Tls(), limiter);
        var endPoint = new IPEndPoint(IPAddress.Loopback, app.Port);
        using var raw = new RawConnections();

        // Two connections that never start TLS hold both places (a handshake-timeout flood).
        var first = await raw.OpenAsync(endPoint);
        await raw.OpenAsync(endPoint);
        await Eventually.TrueAsync(() => Task.FromResult(limiter.Open == 2), TimeSpan.FromSeconds(10), "two connections accepted");

        // A third is closed at once, although it sent nothing: a server that ran TLS first would wait for its ClientHello.
        var third = await raw.OpenAsync(endPoint);
        await RawConnections.WaitClosedByServerAsync(third, TimeSpan.FromSeconds(5), "the connection over the cap");
        Assert.Equal(1, limiter.Refused);
        Assert.Equal(2, limiter.Accepted);

        // The place comes back when a held connection goes; a real TLS client then gets through.
        raw.Close(first);
        await Eventually.TrueAsync(() => Task.FromResult(limiter.Open == 1), TimeSpan.FromSeconds(10), "the closed connection released");
        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        });
        Assert.Equal("ok", await http.GetStringAsync(new Uri($"https://127.0.0.1:{app.Port}/")));
        Assert.Equal(1, limiter.Refused);
    }

    [Fact]
    public async Task A_listener_without_a_limiter_is_unaffected_by_another_listener_s_flood()
    {
        var limiter = new ConnectionLimiter("http", 1);
        await using var app = await StartAsync(null, limiter);
        using var raw = new RawConnections();
        await raw.OpenAsync(new IPEndPoint(IPAddress.Loopback, app.Port));
        await Eventually.TrueAsync(() => Task.FromResult(limiter.Open == 1), TimeSpan.FromSeconds(10), "the connection accepted");

        // A plain HTTP client is refused (closed before any answer) while the cap is held.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri($"http://127.0.0.1:{app.Port}/")));
        Assert.True(limiter.Refused >= 1);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen = Volatile.Read(ref target);
        while (value > seen)
        {
            int found = Interlocked.CompareExchange(ref target, value, seen);
            if (found == seen)
            {
                return;
            }

            seen = found;
        }
    }

    private TlsOptions Tls()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        string cert = Path.Combine(_dir, "server.pem"), pem = Path.Combine(_dir, "server.key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(pem, key.ExportPkcs8PrivateKeyPem());
        return new TlsOptions(cert, pem, null);
    }

    private static async Task<TestServer> StartAsync(TlsOptions? tls, ConnectionLimiter limiter)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        BoundListener? bound = null;
        builder.WebHost.ConfigureKestrel(k =>
            bound = ListenerSetup.Listen(k, new ListenerOptions(limiter.Listener, new IPEndPoint(IPAddress.Loopback, 0), HttpProtocols.Http1, tls), limiter));
        var app = builder.Build();
        app.MapGet("/", () => "ok");
        await app.StartAsync();
        return new TestServer(app, bound!.EndPoint.Port);
    }

    private sealed record TestServer(WebApplication App, int Port) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>Collects formatted log lines.</summary>
    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }
}
