namespace DataPlane.Simulation.Options;

/// <summary>An invalid simulation setting. The message is "<see cref="Key"/>: <see cref="Reason"/>",
/// where the key is the full configuration path (e.g. <c>Simulation:Models:0:BaseLatencyMs</c>).</summary>
public sealed class SimulationConfigException : Exception
{
    public SimulationConfigException(string key, string reason)
        : base($"{key}: {reason}")
    {
        Key = key;
        Reason = reason;
    }

    /// <summary>The full configuration key of the invalid value.</summary>
    public string Key { get; }

    /// <summary>Why the value is invalid.</summary>
    public string Reason { get; }
}
