using DataPlane.Interop.Net;
using System.Net.Sockets;
using System.Buffers.Binary;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DataPlane.Edge.Api;
using DataPlane.Hosting.Listeners;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

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

/// <summary>The client of the GPU pool: one persistent gRPC channel (HTTP/2, keepalive pings)
/// balanced round-robin over the `dataplane` hosts of a static list or a DNS name, with mutual TLS
/// (client certificate, server certificates checked against a pinned CA). Each request is one
/// ModelStreamInfer call carrying the request's deadline and W3C traceparent; tokens are read from
/// Triton's <c>text_output</c> as they arrive.</summary>
public sealed class GpuPool : IDisposable
{
    private readonly GpuOptions _options;
    private readonly GrpcChannel? _channel;
    private readonly CallInvoker? _invoker;

    /// <summary>The client certificate presented to the hosts, when mutual TLS is configured.</summary>
    public CertificateReloader? ClientCertificate { get; }

    /// <summary>The revocation list host certificates are checked against, when <c>Gpu:Tls:Crl</c> is configured.</summary>
    public RevocationListReloader? Revocation { get; }

    /// <param name="options">Hosts, TLS and timeouts.</param>
    /// <param name="logger">Revocation list reloads and refusals.</param>
    public GpuPool(GpuOptions options, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        if (options.Hosts.Count == 0)
        {
            return;
        }

        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = options.ConnectTimeout,
        };
        if (options.Dscp is int dscp)
        {
            handler.ConnectCallback = (context, ct) => ConnectWithTrafficClassAsync(context.DnsEndPoint, dscp << 2, ct);
        }

        if (options.Tls is { } tls)
        {
            var ca = new X509Certificate2Collection();
            ca.ImportFromPemFile(tls.CaPath);
            // Each new connection asks the reloader, so a re-issued client certificate (same paths) is
            // presented from the next handshake on, without a restart.
            var client = ClientCertificate = new CertificateReloader(tls.CertificatePath, tls.KeyPath);
            var revocation = Revocation = tls.CrlPath is { Length: > 0 } crl ? new RevocationListReloader(crl, ca, "gpu_client", logger) : null;
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

        var services = new ServiceCollection();
        string address;
        if (options.Hosts.Count == 1 && options.Hosts[0].StartsWith("dns:///", StringComparison.Ordinal))
        {
            address = options.Hosts[0];
            services.AddSingleton<ResolverFactory>(new DnsResolverFactory(options.DnsRefreshInterval));
        }
        else
        {
            address = "static:///gpu-pool";
            var addresses = options.Hosts.Select(ParseHost).ToArray();
            services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => addresses));
        }

        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            Credentials = options.Tls != null ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
            ServiceProvider = services.BuildServiceProvider(),
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } },
            MaxReceiveMessageSize = 16 << 20,
        });
        _invoker = _channel.CreateCallInvoker();
    }

    /// <summary>The deadline given to each GPU request.</summary>
    public TimeSpan RequestTimeout => _options.RequestTimeout;

    /// <summary>True when GPU hosts are configured.</summary>
    public bool Configured => _invoker != null;

    /// <summary>Opens the pool's connections ahead of the first escalation (TCP, TLS and HTTP/2 to each
    /// host, by one ServerReady call per configured host through the round-robin balancer), so that the
    /// first escalated request does not pay the handshakes inside its hedge delay. Returns how many
    /// hosts answered ready; failures are returned, not thrown (the breaker judges real traffic).</summary>
    public async Task<(int Ready, string? Problem)> WarmUpAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_invoker == null)
        {
            return (0, "no GPU hosts are configured");
        }

        int ready = 0;
        string? problem = null;
        int calls = Math.Max(1, _options.Hosts.Count);
        for (int i = 0; i < calls; i++)
        {
            try
            {
                using var call = _invoker.AsyncUnaryCall(StreamInferCodec.ServerReady, null, new CallOptions(deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken), ServerReadiness.NotReady);
                if ((await call.ResponseAsync.ConfigureAwait(false)).IsReady)
                {
                    ready++;
                }
                else
                {
                    problem ??= "a host reports not ready";
                }
            }
            catch (RpcException e)
            {
                problem ??= $"{e.StatusCode}: {e.Status.Detail}";
            }
        }

        return (ready, problem);
    }

    /// <summary>The Triton model that serves <paramref name="clientModel"/>.</summary>
    public string TritonModel(string clientModel) =>
        _options.ModelMap.TryGetValue(clientModel, out var m) ? m : _options.DefaultModel;

    /// <summary>Streams the GPU answer to <paramref name="request"/>. Throws <see cref="GpuException"/>.</summary>
    public async IAsyncEnumerable<GpuChunk> StreamAsync(EdgeRequest request, int maxTokens, DateTime deadline,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_invoker == null)
        {
            throw new GpuException("no GPU hosts are configured") { Status = StatusCode.Unavailable };
        }

        // Ask the host for its own time to first response (a response parameter only callers that ask get).
        var headers = new Metadata { { "dataplane-timing", "1" } };
        if (request.TraceParent != null)
        {
            headers.Add("traceparent", Tracing.AgentTracing.GpuTraceParent ?? TraceContext.Child(request.TraceParent));
        }

        AsyncDuplexStreamingCall<GpuInferRequest, GpuStreamResponse> call;
        try
        {
            call = _invoker.AsyncDuplexStreamingCall(StreamInferCodec.Method, null, new CallOptions(headers, deadline, cancellationToken));
        }
        catch (RpcException e)
        {
            throw Failure(e);
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
                throw Failure(e);
            }

            while (true)
            {
                GpuStreamResponse response;
                try
                {
                    if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                    {
                        yield break;
                    }

                    response = call.ResponseStream.Current;
                }
                catch (RpcException e)
                {
                    throw Failure(e);
                }

                if (response.ErrorMessage.Length > 0)
                {
                    throw new GpuException("GPU pool: " + response.ErrorMessage) { Status = StatusCode.Internal };
                }

                yield return new GpuChunk(response.Text, response.Final, response.HostUpstreamUs);
                if (response.Final)
                {
                    yield break;
                }
            }
        }
    }

    /// <summary>Opens the TCP connection with the configured DSCP set before connect, so even the SYN carries it.</summary>
    internal static async ValueTask<Stream> ConnectWithTrafficClassAsync(System.Net.DnsEndPoint endPoint, int trafficClass, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            _ = SocketTraffic.TrySetTrafficClass(socket, trafficClass);
            await socket.ConnectAsync(endPoint, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static GpuException Failure(RpcException e) =>
        new($"GPU pool: {e.Status.StatusCode}: {e.Status.Detail}", e) { Status = e.StatusCode };

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

    private static BalancerAddress ParseHost(string host) =>
        EndPoints.ParseHostPort(host) is { } hp ? new BalancerAddress(hp.Host, hp.Port)
            : throw new ArgumentException($"GPU host '{host}' is not host:port", nameof(host));

    public void Dispose() => _channel?.Dispose();
}
