using Grpc.Core;

namespace DataPlane.Edge.Gpu;

/// <summary>One GPU host address and what the balancer knows of it. State is changed only by <see cref="HostBalancer"/>,
/// under its lock; the outstanding count is read without it.</summary>
public sealed class GpuHost
{
    /// <summary>Latency samples kept per host (the outlier window looks at these).</summary>
    public const int SampleCapacity = 64;

    internal readonly (long At, double Seconds)[] Samples = new (long, double)[SampleCapacity];
    internal int SampleCount;
    internal int SampleNext;
    internal double Latency = double.NaN;
    internal long LatencyAt;
    internal double ReportedWait;
    internal long ReportedAt = long.MinValue;
    internal int ConsecutiveFailures;
    internal long EjectedUntil = long.MinValue;
    internal bool Ejected;
    internal bool Probing;
    internal int Ejections;
    internal long ReturnedAt;
    internal int OutstandingCount;
    internal int AwaitingFirstCount;
    internal DataPlane.Hosting.Metrics.Counter.Child? PickCounter;

    /// <param name="name">"address:port" as shown in metrics and logs.</param>
    /// <param name="invoker">How calls reach it (null in tests of the balancer alone).</param>
    /// <param name="channel">Disposed when the host is removed and idle.</param>
    public GpuHost(string name, CallInvoker? invoker = null, IDisposable? channel = null)
    {
        Name = name;
        Invoker = invoker;
        Channel = channel;
    }

    /// <summary>"address:port".</summary>
    public string Name { get; }

    /// <summary>The host's call invoker (its own channel).</summary>
    public CallInvoker? Invoker { get; }

    internal IDisposable? Channel { get; }

    /// <summary>Requests this agent has in flight on the host.</summary>
    public int Outstanding => Volatile.Read(ref OutstandingCount);

    /// <summary>Requests this agent has in flight on the host that have not had their first response yet.</summary>
    public int AwaitingFirstResponse => Volatile.Read(ref AwaitingFirstCount);

    /// <summary>True while the host is ejected.</summary>
    public bool IsEjected => Ejected;

    /// <summary>True once the host's address left the pool (DNS no longer returns it).</summary>
    public bool Removed { get; internal set; }

    /// <summary>The last queue wait the host reported, in seconds.</summary>
    public double LastReportedWait => ReportedWait;

    /// <summary>The balancer's time-to-first-token estimate, in seconds: the median of the last samples (NaN before the first).</summary>
    public double LatencyEstimate => Latency;

    public override string ToString() => Name;
}
