namespace DataPlane.Edge.Contract;

/// <summary>Header names of DataPlane's extensions to the OpenAI API, as the agent reads and writes them and the
/// load generator sends and checks them.</summary>
public static class EdgeHeaders
{
    /// <summary>Response: which path answered (local, gpu, speculative, degraded).</summary>
    public const string Path = "X-DataPlane-Path";

    /// <summary>Request: auto, local, gpu or speculative.</summary>
    public const string Mode = "X-DataPlane-Mode";

    /// <summary>Request: true to receive replace events in speculative streams.</summary>
    public const string Replace = "X-DataPlane-Replace";

    /// <summary>Request: time-to-first-token objective in milliseconds.</summary>
    public const string Slo = "X-DataPlane-SLO-Ms";
}
