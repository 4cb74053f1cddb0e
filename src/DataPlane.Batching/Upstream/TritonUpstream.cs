using DataPlane.Batching.Options;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Serving;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace DataPlane.Batching.Upstream;

/// <summary>The persistent gRPC channel to Triton: HTTP/2 with keepalive pings, several
/// connections when streams run out, no idle teardown. Availability is set by the registry's
/// health loop and cleared at once when a call fails with UNAVAILABLE, so requests fail fast
/// while the upstream is down and flow again when a probe succeeds.</summary>
public sealed partial class TritonUpstream : IInferenceUpstream, IDisposable
{
    private readonly GrpcChannel? _channel;
    private readonly CallInvoker _invoker;
    private readonly ILogger _logger;
    private readonly Prometheus.Gauge _upGauge;
    private volatile bool _available;
    private volatile string _lastError = "not probed yet";

    /// <param name="options">The address and timeouts.</param>
    /// <param name="logger">Up and down transitions.</param>
    /// <param name="registry">Where <c>dataplane_upstream_up</c> goes (the default registry when null).</param>
    /// <param name="invoker">Calls go through this instead of a channel to <see cref="UpstreamOptions.Address"/> (an
    /// in-memory upstream in unit tests); the address then only names the upstream in messages.</param>
    public TritonUpstream(UpstreamOptions options, ILogger logger, Prometheus.CollectorRegistry? registry = null, CallInvoker? invoker = null)
    {
        _upGauge = Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.DefaultRegistry)
            .CreateGauge("dataplane_upstream_up", "1 when the upstream Triton answers readiness probes, else 0.");
        if (!Uri.TryCreate(options.Address, UriKind.Absolute, out var address) || (address.Scheme != "http" && address.Scheme != "https"))
        {
            throw new ArgumentException($"Upstream:Address '{options.Address}' is not an http:// or https:// URL", nameof(options));
        }

        Address = address;
        Options = options;
        _logger = logger;
        if (invoker != null)
        {
            _invoker = invoker;
            Client = new GRPCInferenceService.GRPCInferenceServiceClient(invoker);
            return;
        }

        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = options.ProbeTimeout,
        };
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = options.MaxResponseBytes,
            MaxSendMessageSize = null,
        });
        _invoker = _channel.CreateCallInvoker();
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(_invoker);
    }

    public Uri Address { get; }

    public UpstreamOptions Options { get; }

    /// <summary>The generated client over the shared channel (metadata calls, streams).</summary>
    public GRPCInferenceService.GRPCInferenceServiceClient Client { get; }

    public bool IsAvailable => _available;

    public string Describe() => _available ? $"Triton at {Address}" : $"Triton at {Address} ({_lastError})";

    /// <summary>ModelInfer through <see cref="InferMarshallers.ClientMethod"/>: a request that still holds the bytes it
    /// arrived as goes to Triton as those bytes, and Triton's answer keeps its bytes (its raw outputs alias them), so
    /// a request that goes upstream alone is relayed without decoding and re-encoding its tensors either way.</summary>
    public async Task<ModelInferResponse> InferAsync(ModelInferRequest request, DateTime? deadline, CancellationToken cancellationToken)
    {
        try
        {
            // The upstream call's span (when traced) goes to Triton as traceparent.
            var options = new CallOptions(Tracing.DaemonTracing.Propagate(null), deadline, cancellationToken);
            return await _invoker.AsyncUnaryCall(InferMarshallers.ClientMethod, null, options, request).ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException e) when (IsTransportFailure(e))
        {
            MarkDown(e.Status.Detail);
            throw;
        }
    }

    /// <summary>True when a call failed because the upstream could not be reached (no connection, a reset stream),
    /// rather than with a status the upstream itself answered (Triton's UNAVAILABLE for a full queue or an expired
    /// request timeout is an answer, not an outage). The client library attaches the transport's exception to the
    /// former only.</summary>
    public static bool IsTransportFailure(RpcException e) =>
        e.StatusCode == StatusCode.Unavailable && e.Status.DebugException != null;

    /// <summary>Records a successful probe.</summary>
    public void MarkUp()
    {
        if (!_available)
        {
            _available = true;
            _upGauge.Set(1);
            Log.UpstreamUp(_logger, Address);
        }
    }

    /// <summary>Records a failure; requests fail fast until the next successful probe.</summary>
    public void MarkDown(string reason)
    {
        _lastError = reason;
        _upGauge.Set(0);
        if (_available)
        {
            _available = false;
            Log.UpstreamDown(_logger, Address, reason);
        }
    }

    public void Dispose() => _channel?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Upstream Triton at {Address} is ready")]
        public static partial void UpstreamUp(ILogger logger, Uri address);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Upstream Triton at {Address} is unavailable: {Reason}; requests fail fast until it recovers")]
        public static partial void UpstreamDown(ILogger logger, Uri address, string reason);
    }
}
