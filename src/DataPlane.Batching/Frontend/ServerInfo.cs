namespace DataPlane.Batching.Frontend;

/// <summary>What ServerMetadata reports.</summary>
public static class ServerInfo
{
    public const string Name = "dataplane";

    /// <summary>Protocol extensions the front end implements: request/response parameters are
    /// carried through, <c>priority</c> and <c>timeout</c> are honoured (schedule_policy),
    /// ModelConfig and ModelStatistics are served.</summary>
    public static IReadOnlyList<string> Extensions { get; } = ["parameters", "schedule_policy", "model_configuration", "statistics"];

    public static string Version { get; } =
        typeof(ServerInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
