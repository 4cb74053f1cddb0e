namespace DataPlane.Bench;

/// <summary>Everything one bench run needs; <see cref="BenchArguments.Parse"/> builds it from the
/// command line, tests and other code build it directly. Defaults are those of the command line.</summary>
public sealed record BenchSettings
{
    /// <summary>The gRPC endpoint (http:// for cleartext HTTP/2, https:// for TLS). Default http://127.0.0.1:9001.</summary>
    public Uri Target { get; init; } = new("http://127.0.0.1:9001");

    /// <summary>The protocol requests are sent with. Default <see cref="WireProtocol.Grpc"/>.</summary>
    public WireProtocol Protocol { get; init; } = WireProtocol.Grpc;

    /// <summary>Model to infer against. Default "simple".</summary>
    public string Model { get; init; } = "simple";

    /// <summary>RPC of every request. Default <see cref="RpcKind.Infer"/>.</summary>
    public RpcKind Rpc { get; init; } = RpcKind.Infer;

    /// <summary>Load mode. Default <see cref="LoadMode.Poisson"/>.</summary>
    public LoadMode Mode { get; init; } = LoadMode.Poisson;

    /// <summary>Open-loop rate in requests per second when <see cref="Sweep"/> is empty. Default 100.</summary>
    public double Rate { get; init; } = 100;

    /// <summary>Closed-loop workers when <see cref="Sweep"/> is empty. Default 1.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>One step per value: rates (open loop) or concurrencies (closed loop). Empty: one step
    /// at <see cref="Rate"/> or <see cref="Concurrency"/>.</summary>
    public IReadOnlyList<double> Sweep { get; init; } = [];

    /// <summary>Measured time of each step. Default 5 s.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Load offered before each step's measurement starts, not measured. Default 1 s.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Latency objective: SLO attainment is the share of measured requests that succeeded
    /// within it. Default 50 ms.</summary>
    public TimeSpan Slo { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Rows per request (the leading dimension of every input of a batching model). Default 1.</summary>
    public int Batch { get; init; } = 1;

    /// <summary>CSV file the steps are appended to; null: none.</summary>
    public string? CsvPath { get; init; }

    /// <summary>JSON Lines file the whole run is appended to as one line; null: none.</summary>
    public string? JsonPath { get; init; }

    /// <summary>Free text carried into every row (e.g. the batching policy under test). Default empty.</summary>
    public string Label { get; init; } = "";

    /// <summary>Seed of the arrival schedule and of the generated inputs, so runs with the same settings
    /// offer the same arrivals. Default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Number of gRPC channels, each with its own HTTP/2 connection; requests take them in turn.
    /// A channel opens a further connection only when the server's concurrent-stream limit is reached,
    /// so that an open loop never queues inside the client. Default 1.</summary>
    public int Connections { get; init; } = 1;

    /// <summary>gRPC deadline of every request. Default 10 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The step values the run goes through: <see cref="Sweep"/>, or the single
    /// <see cref="Rate"/> / <see cref="Concurrency"/> of the mode.</summary>
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
