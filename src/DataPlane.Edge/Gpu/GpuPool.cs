using DataPlane.Interop.Net;
using System.Net.Sockets;
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DataPlane.Edge.Api;
using DataPlane.Hosting.Listeners;
using Grpc.Core;
using Grpc.Net.Client;
using DataPlane.Hosting.Metrics;
using Microsoft.Extensions.Logging;

namespace DataPlane.Edge.Gpu;

/// <summary>One streamed piece of a GPU answer.</summary>
/// <param name="Text">Token text (empty on an empty final response).</param>
/// <param name="Final">The host marked this response final.</param>
/// <param name="HostUpstreamUs">On the first response: the host's time from forwarding to Triton's first
/// response, in microseconds, as the host reports it.</param>
public readonly record struct GpuChunk(string Text, bool Final, long? HostUpstreamUs);

/// <summary>The GPU pool failed a request: unreachable, an error status, or an in-stream error.</summary>
public sealed class GpuException : Exception
{
    public GpuException()
    {
    }

    public GpuException(string message)
        : base(message)
    {
    }

    public GpuException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public StatusCode Status { get; init; } = StatusCode.Unknown;
}

/// <summary>The client of the GPU pool: one persistent gRPC channel (HTTP/2, keepalive pings) per `dataplane` host
/// address, from a static list or every address a DNS name resolves to (re-resolved, state kept per address), with
/// mutual TLS (client certificate, server certificates checked against a pinned CA). Each request goes to the host
/// <see cref="HostBalancer"/> picks, as one ModelStreamInfer call carrying the request's deadline and W3C traceparent;
/// tokens are read from Triton's <c>text_output</c> as they arrive, and the host's load report from the call's
/// trailers. Hosts are probed with ModelReady (whose trailers carry the report) to refresh idle hosts' load and to
/// let ejected hosts back.</summary>
public sealed partial class GpuPool : IDisposable
{
    private readonly GpuOptions _options;
    private readonly TimeProvider _time;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;
    private readonly Microsoft.Extensions.Logging.ILogger? _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, GpuHost> _byName = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _firstResolution = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly (string Name, int Port)? _dnsName;
    private readonly bool _configured;

    /// <summary>The client certificate presented to the hosts, when mutual TLS is configured.</summary>
    public CertificateReloader? ClientCertificate { get; }

    /// <summary>The revocation list host certificates are checked against, when <c>Gpu:Tls:Crl</c> is configured.</summary>
    public RevocationListReloader? Revocation { get; }

    /// <summary>Chooses the host per request and keeps each host's health.</summary>
    public HostBalancer Balancer { get; }

    /// <param name="options">Hosts, balancing, TLS and timeouts.</param>
    /// <param name="logger">Revocation list reloads and refusals, ejections, DNS changes.</param>
    /// <param name="metrics">Where the per-host metrics go (none when null).</param>
    /// <param name="resolve">Resolves a dns:/// name to every address (default: the system resolver).</param>
    /// <param name="time">Clock of the balancer and the probe and DNS loops.</param>
    /// <param name="random">The balancer's choices (seeded in tests).</param>
    public GpuPool(GpuOptions options, Microsoft.Extensions.Logging.ILogger? logger = null, MetricRegistry? metrics = null,
        Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null, TimeProvider? time = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _resolve = resolve ?? ((name, ct) => Dns.GetHostAddressesAsync(name, ct));
        Balancer = new HostBalancer(options.Balancing, _time, random, logger);
        if (metrics != null)
        {
            _ = new GpuPoolMetrics(metrics, Balancer);
        }

        if (options.Hosts.Count == 0)
        {
            _firstResolution.TrySetResult();
            return;
        }

        _configured = true;
        if (options.Tls is { } tls)
        {
            var ca = new X509Certificate2Collection();
            ca.ImportFromPemFile(tls.CaPath);
            // Each new connection asks the reloader, so a re-issued client certificate (same paths) is
            // presented from the next handshake on, without a restart.
            ClientCertificate = new CertificateReloader(tls.CertificatePath, tls.KeyPath);
            Revocation = tls.CrlPath is { Length: > 0 } crl ? new RevocationListReloader(crl, ca, "gpu_client", logger) : null;
            _ca = ca;
        }

        if (options.Hosts.Count == 1 && options.Hosts[0].StartsWith("dns:///", StringComparison.Ordinal))
        {
            _dnsName = EndPoints.ParseHostPort(options.Hosts[0]["dns:///".Length..]) is { } hp ? (hp.Host, hp.Port)
                : throw new ArgumentException($"GPU host '{options.Hosts[0]}' is not dns:///name:port", nameof(options));
            _ = RunDnsAsync(_stopping.Token);
        }
        else
        {
            var hosts = new List<GpuHost>();
            foreach (string entry in options.Hosts)
            {
                if (EndPoints.ParseHostPort(entry) == null)
                {
                    throw new ArgumentException($"GPU host '{entry}' is not host:port", nameof(options));
                }

                hosts.Add(CreateHost(entry, entry, null));
            }

            Balancer.SetHosts(hosts);
            _firstResolution.TrySetResult();
        }

        _ = RunProbesAsync(_stopping.Token);
    }

    private readonly X509Certificate2Collection? _ca;

    /// <summary>The deadline given to each GPU request.</summary>
    public TimeSpan RequestTimeout => _options.RequestTimeout;

    /// <summary>True when GPU hosts are configured.</summary>
    public bool Configured => _configured;

    /// <summary>Completes when the host list is known (at once for a static list; after the first DNS answer or failure).</summary>
    public Task Resolved => _firstResolution.Task;

    /// <summary>Opens the pool's connections ahead of the first escalation (TCP, TLS and HTTP/2 to each
    /// host address, by one ServerReady call per address), so that the first escalated request does not pay the
    /// handshakes inside its hedge delay. Returns how many addresses answered ready; failures are returned, not thrown
    /// (the balancer and the breaker judge real traffic).</summary>
    public async Task<(int Ready, string? Problem)> WarmUpAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_configured)
        {
            return (0, "no GPU hosts are configured");
        }

        await _firstResolution.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        var hosts = Balancer.Hosts;
        if (hosts.Count == 0)
        {
            return (0, $"{_options.Hosts[0]} resolved to no address");
        }

        var answers = await Task.WhenAll(hosts.Select(async h =>
        {
            try
            {
                using var call = h.Invoker!.AsyncUnaryCall(StreamInferCodec.ServerReady, null, new CallOptions(deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken), ServerReadiness.NotReady);
                return (await call.ResponseAsync.ConfigureAwait(false)).IsReady ? null : $"{h.Name} reports not ready";
            }
            catch (RpcException e)
            {
                return $"{h.Name}: {e.StatusCode}: {e.Status.Detail}";
            }
        })).ConfigureAwait(false);
        return (answers.Count(a => a == null), answers.FirstOrDefault(a => a != null));
    }

    /// <summary>The Triton model that serves <paramref name="clientModel"/>.</summary>
    public string TritonModel(string clientModel) =>
        _options.ModelMap.TryGetValue(clientModel, out var m) ? m : _options.DefaultModel;

    /// <summary>Streams the GPU answer to <paramref name="request"/> from the host the balancer picks. Throws
    /// <see cref="GpuException"/>.</summary>
    public async IAsyncEnumerable<GpuChunk> StreamAsync(EdgeRequest request, int maxTokens, DateTime deadline,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!_configured)
        {
            throw new GpuException("no GPU hosts are configured") { Status = StatusCode.Unavailable };
        }

        if (!_firstResolution.Task.IsCompleted)
        {
            await _firstResolution.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var host = Balancer.Pick() ?? throw new GpuException($"GPU pool: {_options.Hosts[0]} resolved to no address") { Status = StatusCode.Unavailable };
        long started = _time.GetTimestamp();
        bool answered = false;
        try
        {
            // Ask the host for its own time to first response (a response parameter only callers that ask get).
            var headers = new Metadata { { "dataplane-timing", "1" } };
            if (request.TraceParent != null)
            {
                headers.Add("traceparent", Tracing.AgentTracing.GpuTraceParent ?? TraceContext.Child(request.TraceParent));
            }

            AsyncDuplexStreamingCall<GpuInferRequest, GpuStreamResponse> call;
            try
            {
                call = host.Invoker!.AsyncDuplexStreamingCall(StreamInferCodec.Method, null, new CallOptions(headers, deadline, cancellationToken));
            }
            catch (RpcException e)
            {
                throw Failure(host, e);
            }

            using (call)
            {
                try
                {
                    await call.RequestStream.WriteAsync(Build(request, maxTokens), cancellationToken).ConfigureAwait(false);
                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                }
                catch (RpcException e)
                {
                    throw Failure(host, e);
                }

                while (true)
                {
                    GpuStreamResponse response;
                    try
                    {
                        if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                        {
                            Report(host, call.GetTrailers());
                            yield break;
                        }

                        response = call.ResponseStream.Current;
                    }
                    catch (RpcException e)
                    {
                        throw Failure(host, e);
                    }

                    if (!answered)
                    {
                        answered = true;
                        Balancer.OnFirstResponse(host, _time.GetElapsedTime(started));
                    }

                    if (response.ErrorMessage.Length > 0)
                    {
                        throw new GpuException("GPU pool: " + response.ErrorMessage) { Status = StatusCode.Internal };
                    }

                    yield return new GpuChunk(response.Text, response.Final, response.HostUpstreamUs);
                    if (response.Final)
                    {
                        await ReadReportAsync(host, call).ConfigureAwait(false);
                        yield break;
                    }
                }
            }
        }
        finally
        {
            Balancer.Release(host, answered, !answered && cancellationToken.IsCancellationRequested ? _time.GetElapsedTime(started) : null);
            if (host.Removed && host.Outstanding == 0)
            {
                host.Channel?.Dispose();
            }
        }
    }

    /// <summary>After the final response: the end of the call and its trailers (the load report), waited for briefly.</summary>
    private async Task ReadReportAsync(GpuHost host, AsyncDuplexStreamingCall<GpuInferRequest, GpuStreamResponse> call)
    {
        using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(1), _time);
        try
        {
            if (!await call.ResponseStream.MoveNext(brief.Token).ConfigureAwait(false))
            {
                Report(host, call.GetTrailers());
            }
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or OperationCanceledException)
        {
            // The report is a hint: a call that does not end cleanly just has none.
        }
    }

    private void Report(GpuHost host, Metadata trailers)
    {
        if (LoadReportText.PredictedWaitSeconds(trailers.GetValue(LoadReportText.Name)) is { } wait)
        {
            Balancer.OnReport(host, wait);
        }
    }

    private GpuException Failure(GpuHost host, RpcException e)
    {
        Report(host, e.Trailers);
        Balancer.OnFailure(host, e.StatusCode);
        return new($"GPU pool: {host.Name}: {e.Status.StatusCode}: {e.Status.Detail}", e) { Status = e.StatusCode };
    }

    /// <summary>One round of probes: ModelReady of the default model to every host that is due (<see cref="HostBalancer.DueForProbe"/>).</summary>
    internal async Task ProbeOnceAsync(CancellationToken cancellationToken)
    {
        var due = Balancer.DueForProbe();
        if (due.Count == 0)
        {
            return;
        }

        await Task.WhenAll(due.Select(async host =>
        {
            bool ready = false;
            double? wait = null;
            try
            {
                using var call = host.Invoker!.AsyncUnaryCall(StreamInferCodec.ModelReady, null,
                    new CallOptions(deadline: DateTime.UtcNow + _options.ConnectTimeout + TimeSpan.FromSeconds(1), cancellationToken: cancellationToken),
                    _options.DefaultModel);
                ready = (await call.ResponseAsync.ConfigureAwait(false)).IsReady;
                wait = LoadReportText.PredictedWaitSeconds(call.GetTrailers().GetValue(LoadReportText.Name));
            }
            catch (RpcException e)
            {
                // A host that answers at all, even PERMISSION_DENIED (a grant without the metadata group), is up.
                ready = !HostBalancer.IsHostFailure(e.StatusCode);
            }
            finally
            {
                Balancer.OnProbe(host, ready, wait);
            }
        })).ConfigureAwait(false);
    }

    private async Task RunProbesAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(_options.Balancing.ProbeInterval, _time);
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await ProbeOnceAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Resolves the dns:/// name now: every address becomes a host (kept with its state when it was there
    /// before); a failed or empty answer keeps the hosts there were.</summary>
    internal async Task RefreshDnsAsync(CancellationToken cancellationToken)
    {
        var (name, port) = _dnsName!.Value;
        try
        {
            var addresses = await _resolve(name, cancellationToken).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                if (_logger != null)
                {
                    Log.DnsFailed(_logger, name, "no addresses");
                }

                return;
            }

            var hosts = new List<GpuHost>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var address in addresses.Distinct())
            {
                var endPoint = new IPEndPoint(address, port);
                string key = endPoint.ToString();
                if (!seen.Add(key))
                {
                    continue;
                }

                if (!_byName.TryGetValue(key, out var host))
                {
                    host = _byName[key] = CreateHost(key, name.Contains(':', StringComparison.Ordinal) ? $"[{name}]:{port}" : $"{name}:{port}", endPoint);
                }

                hosts.Add(host);
            }

            var removed = Balancer.SetHosts(hosts);
            foreach (var gone in removed)
            {
                _byName.Remove(gone.Name);
                if (gone.Outstanding == 0)
                {
                    gone.Channel?.Dispose();
                }
            }

            if (_logger != null && (removed.Count > 0 || hosts.Count != Balancer.Hosts.Count || _byName.Count != hosts.Count || !_firstResolution.Task.IsCompleted))
            {
                Log.DnsResolved(_logger, name, string.Join(", ", hosts.Select(h => h.Name)));
            }
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ArgumentException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (_logger != null)
            {
                Log.DnsFailed(_logger, name, e.Message);
            }
        }
        finally
        {
            _firstResolution.TrySetResult();
        }
    }

    private async Task RunDnsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RefreshDnsAsync(cancellationToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(_options.DnsRefreshInterval, _time);
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await RefreshDnsAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>A host with its own channel to <paramref name="authority"/> (the name TLS checks), connecting to
    /// <paramref name="connectTo"/> when given (one resolved address of a DNS name).</summary>
    private GpuHost CreateHost(string name, string authority, IPEndPoint? connectTo)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = _options.KeepAlivePingDelay,
            KeepAlivePingTimeout = _options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = _options.ConnectTimeout,
        };
        int? trafficClass = _options.Dscp is int dscp ? dscp << 2 : null;
        if (connectTo != null || trafficClass != null)
        {
            handler.ConnectCallback = (context, ct) => ConnectAsync((EndPoint?)connectTo ?? context.DnsEndPoint, trafficClass, ct);
        }

        if (_options.Tls != null)
        {
            var ca = _ca!;
            var client = ClientCertificate!;
            var revocation = Revocation;
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => client.Current;
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0 || certificate == null)
                {
                    return false;
                }

                var host = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return ListenerSetup.IsIssuedBy(host, ca, serverAuth: true) && revocation?.Refuses(host) != true;
            };
        }

        var channel = GrpcChannel.ForAddress((_options.Tls != null ? "https://" : "http://") + authority, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 16 << 20,
        });
        return new GpuHost(name, channel.CreateCallInvoker(), channel);
    }

    /// <summary>Opens the TCP connection with the configured DSCP set before connect, so even the SYN carries it.</summary>
    internal static ValueTask<Stream> ConnectWithTrafficClassAsync(DnsEndPoint endPoint, int trafficClass, CancellationToken ct) =>
        ConnectAsync(endPoint, trafficClass, ct);

    private static async ValueTask<Stream> ConnectAsync(EndPoint endPoint, int? trafficClass, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (trafficClass is int tc)
            {
                _ = SocketTraffic.TrySetTrafficClass(socket, tc);
            }

            await socket.ConnectAsync(endPoint, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private GpuInferRequest Build(EdgeRequest request, int maxTokens)
    {
        var inputs = new List<WireTensor> { new("text_input", "BYTES", [1], StreamInferCodec.BytesElement(request.FlattenedPrompt())) };
        if (_options.Convention == "vllm")
        {
            inputs.Add(new WireTensor("stream", "BOOL", [1], [1]));
            inputs.Add(new WireTensor("sampling_parameters", "BYTES", [1], StreamInferCodec.BytesElement(SamplingParameters(request, maxTokens))));
            inputs.Add(new WireTensor("exclude_input_in_output", "BOOL", [1], [1]));
        }
        else
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, maxTokens);
            inputs.Add(new WireTensor("max_tokens", "INT32", [1], b));
        }

        return new GpuInferRequest(TritonModel(request.Model), "", inputs);
    }

    private static string SamplingParameters(EdgeRequest request, int maxTokens)
    {
        using var stream = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("max_tokens", maxTokens);
            if (request.Temperature is { } t)
            {
                json.WriteNumber("temperature", t);
            }

            if (request.TopP is { } p)
            {
                json.WriteNumber("top_p", p);
            }

            if (request.Stop.Count > 0)
            {
                json.WriteStartArray("stop");
                foreach (string s in request.Stop)
                {
                    json.WriteStringValue(s);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public void Dispose()
    {
        _stopping.Cancel();
        foreach (var host in Balancer.Hosts)
        {
            host.Channel?.Dispose();
        }

        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4210, Level = Microsoft.Extensions.Logging.LogLevel.Information, Message = "GPU pool name {Name} resolves to {Addresses}")]
        public static partial void DnsResolved(Microsoft.Extensions.Logging.ILogger logger, string name, string addresses);

        [LoggerMessage(EventId = 4211, Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "GPU pool name {Name} did not resolve ({Error}); keeping the addresses there were")]
        public static partial void DnsFailed(Microsoft.Extensions.Logging.ILogger logger, string name, string error);
    }
}
