using System.Text.Json.Serialization;

namespace DataPlane.Bench;

/// <summary>How requests are offered to the target.</summary>
public enum LoadMode
{
    /// <summary>Open loop with Poisson arrivals (exponential gaps) at a mean rate: the way independent
    /// clients arrive at a service. Sends follow the schedule whatever the responses do. The default.</summary>
    [JsonStringEnumMemberName("poisson")]
    Poisson,

    /// <summary>Open loop with a fixed gap of 1/rate between sends.</summary>
    [JsonStringEnumMemberName("constant")]
    Constant,

    /// <summary>Closed loop: N workers, each sending its next request as soon as the previous one completes.
    /// Hides queueing delay (a slow server slows the client down); use it to find peak throughput.</summary>
    [JsonStringEnumMemberName("closed")]
    Closed,
}

/// <summary>The RPC each request makes.</summary>
public enum RpcKind
{
    /// <summary>ModelInfer with generated inputs for the model. The default.</summary>
    [JsonStringEnumMemberName("infer")]
    Infer,

    /// <summary>ServerLive: an empty round trip that measures the cost of a bare gRPC hop.</summary>
    [JsonStringEnumMemberName("live")]
    Live,
}

/// <summary>Command-line names of <see cref="LoadMode"/> and <see cref="RpcKind"/>.</summary>
public static class LoadModeNames
{
    /// <summary>The command-line (and CSV) name, e.g. "poisson".</summary>
    public static string Name(this LoadMode mode) => mode switch
    {
        LoadMode.Poisson => "poisson",
        LoadMode.Constant => "constant",
        LoadMode.Closed => "closed",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    /// <summary>The command-line (and CSV) name, e.g. "infer".</summary>
    public static string Name(this RpcKind rpc) => rpc switch
    {
        RpcKind.Infer => "infer",
        RpcKind.Live => "live",
        _ => throw new ArgumentOutOfRangeException(nameof(rpc), rpc, null),
    };

    /// <summary>True for the open-loop modes, whose step value is a rate in requests per second.</summary>
    public static bool IsOpenLoop(this LoadMode mode) => mode != LoadMode.Closed;
}
