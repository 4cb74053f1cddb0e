using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Security;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Bench;

/// <summary>What the host wires into xfer-bench beyond its arguments.</summary>
public sealed record XferBenchHooks
{
    /// <summary>Opens the RDMA transport or returns null (see <see cref="TransferEngine"/>). Null: the RDMA transport on
    /// the device the arguments choose (<c>--rdma-device</c>, <c>--gid-index</c>, <c>--subnet</c>), falling back to TCP.</summary>
    public Func<ITransport?>? RdmaFactory { get; init; }

    /// <summary>Told the server's bound address once it listens (useful with port 0).</summary>
    public Action<IPEndPoint>? OnListening { get; init; }

    /// <summary>Metrics to count into (null: none).</summary>
    public TransferMetrics? Metrics { get; init; }

    /// <summary>Logging (null: none).</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>The <c>dataplane xfer-bench</c> verb: a perftest-style server and client over the transfer engine.
/// The server registers one region, exposes it in the handshake and echoes messages; the client measures
/// WRITE and READ bandwidth per size with a window of operations in flight, then round-trip latency of
/// SEND/RECV ping-pong and of WRITE-until-acknowledged, prints tables and optionally writes JSON.</summary>
public static class XferBench
{
    /// <summary>Exit code of a finished run.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code of a connection or transfer failure.</summary>
    public const int ExitFailed = 1;

    /// <summary>Exit code for bad arguments.</summary>
    public const int ExitUsage = 2;

    /// <summary>Exit code when cancelled.</summary>
    public const int ExitCancelled = 130;

    /// <summary>Largest latency message (the receive buffer size both sides announce).</summary>
    public const int MaxLatencyBytes = 64 << 10;

    private const int WarmupRoundTrips = 16;

    private static readonly TransferOp[] s_bandwidthOps = [TransferOp.Write, TransferOp.Read];
    private static readonly string[] s_latencyOps = ["send", "write"];

    /// <summary>Runs the verb with <paramref name="args"/> (after "xfer-bench"); returns the exit code.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct) =>
        RunAsync(args, stdout, stderr, new XferBenchHooks(), ct);

    /// <summary>Runs the verb with host-provided <paramref name="hooks"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, XferBenchHooks hooks, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(hooks);
        var parsed = XferBenchArguments.Parse(args);
        if (parsed.HelpRequested)
        {
            await stdout.WriteLineAsync(XferBenchArguments.Usage).ConfigureAwait(false);
            return ExitOk;
        }

        if (parsed.Settings is not { } settings)
        {
            await stderr.WriteLineAsync(XferBenchArguments.Spec.FormatError(parsed.Error!)).ConfigureAwait(false);
            return ExitUsage;
        }

        if (settings.LatencySizes.Any(size => size > MaxLatencyBytes))
        {
            await stderr.WriteLineAsync($"dataplane xfer-bench: option --lat-sizes: at most {XferBenchSettings.FormatSize(MaxLatencyBytes)} per message").ConfigureAwait(false);
            return ExitUsage;
        }

        var flowClass = new FlowClass { Name = settings.FlowClass ?? FlowClass.Default.Name, Dscp = settings.Dscp };
        if (flowClass.Validate() is { Count: > 0 } problems)
        {
            await stderr.WriteLineAsync($"dataplane xfer-bench: option --flow-class: {problems[0]}").ConfigureAwait(false);
            return ExitUsage;
        }

        TransferSecurity? security = null;
        string nodeName = Environment.MachineName;
        if (settings.Tls)
        {
            try
            {
                var files = TransferSecurity.FromFiles(settings.CertificatePath!, settings.KeyPath!, settings.CaPath!);
                security = new TransferSecurity(files.Certificate, files.TrustedCa)
                {
                    EncryptData = settings.EncryptData,
                    AllowedPeers = settings.AllowedPeers is { } allowed ? PeerAllowList.Of(allowed) : PeerAllowList.Any,
                };
                var names = CertificateNames.Of(security.Certificate());
                if (names.Count == 0)
                {
                    throw new TransferSecurityException($"'{settings.CertificatePath}' names no DNS name or URI in subjectAltName");
                }

                nodeName = names[0];
            }
            catch (TransferSecurityException e)
            {
                await stderr.WriteLineAsync($"dataplane xfer-bench: option --cert/--key/--ca: {e.Message}").ConfigureAwait(false);
                return ExitUsage;
            }
        }

        var options = new TransferOptions
        {
            Security = security,
            NodeName = nodeName,
            Transport = settings.Transport,
            FlowClasses = new Dictionary<string, FlowClass>(StringComparer.Ordinal) { [flowClass.Name] = flowClass },
            DefaultFlowClass = flowClass.Name,
            ListenEndPoint = settings.Listen,
            MaxMessageBytes = MaxLatencyBytes,
            OperationTimeout = TimeSpan.FromSeconds(60),
        };

        try
        {
            return settings.Server
                ? await ServeAsync(settings, options, hooks, stdout, ct).ConfigureAwait(false)
                : await MeasureAsync(settings, options, hooks, args, stdout, stderr, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return ExitCancelled;
        }
        catch (Exception e) when (e is TransferException or SocketException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            await stderr.WriteLineAsync($"dataplane xfer-bench: {e.Message}").ConfigureAwait(false);
            return ExitFailed;
        }
    }

    private static Func<ITransport?> RdmaFactory(XferBenchSettings s, XferBenchHooks hooks) =>
        hooks.RdmaFactory ?? Rdma.RdmaTransport.Factory(s.Rdma, hooks.Metrics,
            (hooks.LoggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger("DataPlane.Transfer.Rdma"));

    private static async Task<int> ServeAsync(XferBenchSettings s, TransferOptions options, XferBenchHooks hooks, TextWriter stdout, CancellationToken ct)
    {
        await using var engine = new TransferEngine(options, RdmaFactory(s, hooks), hooks.Metrics, hooks.LoggerFactory);
        using var memory = PinnedBuffer.Allocate(s.RegionBytes);
        using var region = engine.Transport.Register(memory, RegionAccess.All);
        var endpoint = engine.Listen(region);
        await stdout.WriteLineAsync(
            $"xfer-bench server: listening on {endpoint} over {engine.Kind.Name()}, region {XferBenchSettings.FormatSize(s.RegionBytes)} ({region.ToRemoteRegion()}), "
            + (options.Security is null ? "plain TCP control (unauthenticated)" : $"mutual TLS as {options.NodeName}, data {(s.EncryptData ? "encrypted" : "in clear when the client agrees")}"))
            .ConfigureAwait(false);
        await stdout.FlushAsync(ct).ConfigureAwait(false);
        hooks.OnListening?.Invoke(endpoint);
        var clients = new List<Task>();
        try
        {
            while (true)
            {
                var connection = await engine.AcceptAsync(ct).ConfigureAwait(false);
                await stdout.WriteLineAsync($"xfer-bench server: client {connection.PeerName} ({connection.RemoteEndPoint}) connected, {connection.Protection.Name()}")
                    .ConfigureAwait(false);
                var echo = EchoAsync(connection, ct);
                if (s.Once)
                {
                    await echo.ConfigureAwait(false);
                    await stdout.WriteLineAsync($"xfer-bench server: client {connection.PeerName} finished").ConfigureAwait(false);
                    return ExitOk;
                }

                clients.RemoveAll(t => t.IsCompleted);
                clients.Add(echo);
            }
        }
        finally
        {
            await Task.WhenAll(clients).ConfigureAwait(false);
        }
    }

    /// <summary>Answers each message with the same bytes until the client goes away.</summary>
    private static async Task EchoAsync(ITransferConnection connection, CancellationToken ct)
    {
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                while (true)
                {
                    var message = await connection.ReceiveAsync(ct).ConfigureAwait(false);
                    Task reply;
                    using (message)
                    {
                        reply = connection.SendAsync(message.Payload, ct);
                    }

                    await reply.ConfigureAwait(false);
                }
            }
            catch (TransferException)
            {
                // The client finished (or vanished): this connection is done.
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
        }
    }

    private static async Task<int> MeasureAsync(
        XferBenchSettings s, TransferOptions options, XferBenchHooks hooks, string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        var address = IPAddress.TryParse(s.ConnectHost, out var ip)
            ? ip
            : (await Dns.GetHostAddressesAsync(s.ConnectHost!, ct).ConfigureAwait(false)).FirstOrDefault()
                ?? throw new IOException($"host {s.ConnectHost} has no address");
        await using var engine = new TransferEngine(options, RdmaFactory(s, hooks), hooks.Metrics, hooks.LoggerFactory);
        var connection = await engine.ConnectAsync(new IPEndPoint(address, s.ConnectPort), s.FlowClass, peer: s.ConnectName, cancellationToken: ct).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            bool bandwidth = s.Test != XferTest.Latency;
            bool latency = s.Test != XferTest.Bandwidth;
            int largest = Math.Max(bandwidth ? s.Sizes.Max() : 0, latency ? s.LatencySizes.Max() : 0);
            if (connection.PeerRegion is not { } peerRegion)
            {
                await stderr.WriteLineAsync("dataplane xfer-bench: the server exposes no region").ConfigureAwait(false);
                return ExitFailed;
            }

            if ((ulong)largest > peerRegion.Length)
            {
                await stderr.WriteLineAsync(
                    $"dataplane xfer-bench: size {XferBenchSettings.FormatSize(largest)} exceeds the server's {XferBenchSettings.FormatSize((long)peerRegion.Length)} region (server option --region)")
                    .ConfigureAwait(false);
                return ExitFailed;
            }

            using var memory = PinnedBuffer.Allocate(largest);
            using var local = engine.Transport.Register(memory, RegionAccess.All);
            memory.GetSpan().Fill(0x5a);
            await stdout.WriteLineAsync(XferBenchOutput.Describe(connection.Kind.Name(), connection.PeerName, s, connection.Protection.Name())).ConfigureAwait(false);

            var bandwidthRows = new List<BandwidthResult>();
            if (bandwidth)
            {
                await stdout.WriteLineAsync(XferBenchOutput.BandwidthHeader).ConfigureAwait(false);
                foreach (var op in s_bandwidthOps)
                {
                    if ((op == TransferOp.Write && !s.Write) || (op == TransferOp.Read && !s.Read))
                    {
                        continue;
                    }

                    foreach (int size in s.Sizes)
                    {
                        var row = await MeasureBandwidthAsync(connection, op, local.Slice(0, size), peerRegion, s, ct).ConfigureAwait(false);
                        bandwidthRows.Add(row);
                        await stdout.WriteLineAsync(XferBenchOutput.Row(row)).ConfigureAwait(false);
                    }
                }
            }

            var latencyRows = new List<LatencyResult>();
            if (latency)
            {
                await stdout.WriteLineAsync(XferBenchOutput.LatencyHeader).ConfigureAwait(false);
                foreach (string op in s_latencyOps)
                {
                    foreach (int size in s.LatencySizes)
                    {
                        var row = op == "send"
                            ? await PingPongAsync(connection, size, s.LatencyIterations, ct).ConfigureAwait(false)
                            : await WriteRoundTripsAsync(connection, local.Slice(0, size), peerRegion, s.LatencyIterations, ct).ConfigureAwait(false);
                        latencyRows.Add(row);
                        await stdout.WriteLineAsync(XferBenchOutput.Row(row)).ConfigureAwait(false);
                    }
                }
            }

            if (s.JsonPath is { } path)
            {
                var report = new XferBenchReport
                {
                    StartedUtc = started,
                    Transport = connection.Kind.Name(),
                    Protection = connection.Protection.Name(),
                    Peer = connection.PeerName,
                    Window = s.Window,
                    Arguments = args,
                    Bandwidth = bandwidthRows,
                    Latency = latencyRows,
                };
                await File.WriteAllTextAsync(path, XferBenchOutput.ToJson(report) + "\n", ct).ConfigureAwait(false);
            }
        }

        return ExitOk;
    }

    /// <summary>Keeps <see cref="XferBenchSettings.Window"/> operations in flight until the iteration count or the
    /// duration is reached; operations on one connection complete in order, so waiting for the oldest frees a slot.</summary>
    internal static async Task<BandwidthResult> MeasureBandwidthAsync(
        ITransferConnection connection, TransferOp op, RegisteredSlice slice, RemoteRegion region, XferBenchSettings s, CancellationToken ct)
    {
        Task Issue() => op == TransferOp.Write
            ? connection.WriteAsync(slice, region, 0, ct)
            : connection.ReadAsync(slice, region, 0, ct);

        // Warm-up: first-touch of pages and socket buffers is not what is being measured.
        await Issue().ConfigureAwait(false);
        int window = s.Window;
        var ring = new Task[window];
        long issued = 0, done = 0;
        long start = Stopwatch.GetTimestamp();
        long limit = start + (long)(s.Duration.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (issued < s.Iterations && issued - done < window && (issued == 0 || Stopwatch.GetTimestamp() < limit))
            {
                ring[issued % window] = Issue();
                issued++;
                continue;
            }

            if (done == issued)
            {
                break;
            }

            await ring[done % window].ConfigureAwait(false);
            done++;
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new BandwidthResult { Op = op == TransferOp.Write ? "write" : "read", Bytes = slice.Length, Iterations = done, Seconds = seconds };
    }

    private static async Task<LatencyResult> PingPongAsync(ITransferConnection connection, int size, int iterations, CancellationToken ct)
    {
        var message = new byte[size];
        var samples = new long[iterations];
        for (int i = -WarmupRoundTrips; i < iterations; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var send = connection.SendAsync(message, ct);
            using (var echo = await connection.ReceiveAsync(ct).ConfigureAwait(false))
            {
                if (echo.Payload.Length != size)
                {
                    throw new IOException($"the server echoed {echo.Payload.Length} bytes for a {size}-byte message");
                }
            }

            await send.ConfigureAwait(false);
            if (i >= 0)
            {
                samples[i] = Stopwatch.GetTimestamp() - t0;
            }
        }

        return XferBenchOutput.Latency("send", size, samples, Stopwatch.Frequency);
    }

    private static async Task<LatencyResult> WriteRoundTripsAsync(ITransferConnection connection, RegisteredSlice slice, RemoteRegion region, int iterations, CancellationToken ct)
    {
        var samples = new long[iterations];
        for (int i = -WarmupRoundTrips; i < iterations; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await connection.WriteAsync(slice, region, 0, ct).ConfigureAwait(false);
            if (i >= 0)
            {
                samples[i] = Stopwatch.GetTimestamp() - t0;
            }
        }

        return XferBenchOutput.Latency("write", slice.Length, samples, Stopwatch.Frequency);
    }
}
