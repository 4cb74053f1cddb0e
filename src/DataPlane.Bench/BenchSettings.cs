namespace DataPlane.Bench;

/// <summary>Everything one bench run needs; <see cref="BenchArguments.Parse"/> builds it from the
/// command line, tests and other code build it directly. Defaults are those of the command line.</summary>
public sealed record BenchSettings : BenchRunSettings
{
    /// <summary>The command line's defaults: model "simple", 100 requests/s, 5 s measured after 1 s of warm-up,
    /// a 10 s deadline.</summary>
    public BenchSettings()
        : base(model: "simple", rate: 100, duration: TimeSpan.FromSeconds(5), warmup: TimeSpan.FromSeconds(1),
            timeout: TimeSpan.FromSeconds(10))
    {
    }

    /// <summary>The gRPC endpoint (http:// for cleartext HTTP/2, https:// for TLS). Default http://127.0.0.1:9001.</summary>
    public Uri Target { get; init; } = new("http://127.0.0.1:9001");

    /// <summary>The protocol requests are sent with. Default <see cref="WireProtocol.Grpc"/>.</summary>
    public WireProtocol Protocol { get; init; } = WireProtocol.Grpc;

    /// <summary>RPC of every request. Default <see cref="RpcKind.Infer"/>.</summary>
    public RpcKind Rpc { get; init; } = RpcKind.Infer;

    /// <summary>Load mode. Default <see cref="LoadMode.Poisson"/>.</summary>
    public LoadMode Mode { get; init; } = LoadMode.Poisson;

    /// <summary>One step per value: rates (open loop) or concurrencies (closed loop). Empty: one step
    /// at <see cref="BenchRunSettings.Rate"/> or <see cref="BenchRunSettings.Concurrency"/>.</summary>
    public IReadOnlyList<double> Sweep { get; init; } = [];

    /// <summary>Latency objective: SLO attainment is the share of measured requests that succeeded
    /// within it. Default 50 ms.</summary>
    public TimeSpan Slo { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Rows per request (the leading dimension of every input of a batching model). Default 1.</summary>
    public int Batch { get; init; } = 1;

    /// <summary>Number of gRPC channels, each with its own HTTP/2 connection; requests take them in turn.
    /// A channel opens a further connection only when the server's concurrent-stream limit is reached,
    /// so that an open loop never queues inside the client. Default 1.</summary>
    public int Connections { get; init; } = 1;

    /// <summary>The server's Prometheus endpoint (e.g. the daemon's admin <c>/metrics</c>), read at the start and end of
    /// each step's measurement for its CPU time and allocations per request; null to measure only the client's view.</summary>
    public Uri? ServerMetrics { get; init; }

    /// <summary>The step values the run goes through: <see cref="Sweep"/>, or the single
    /// <see cref="BenchRunSettings.Rate"/> / <see cref="BenchRunSettings.Concurrency"/> of the mode.</summary>
    public IReadOnlyList<double> Steps =>
        Sweep.Count > 0 ? Sweep : [Mode.IsOpenLoop() ? Rate : Concurrency];
}

/// <summary>How the bench talks to the target.</summary>
public enum WireProtocol
{
    /// <summary>KServe v2 gRPC (<c>inference.GRPCInferenceService</c>).</summary>
    Grpc,

    /// <summary>KServe v2 HTTP/REST with Triton's binary tensor data extension (what tritonclient.http sends).</summary>
    Http,
}
