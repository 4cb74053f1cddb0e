using System.Net;
using DataPlane.Transfer.Abstractions;

namespace DataPlane.Transfer.Engine;

/// <summary>Which transport the engine uses.</summary>
public enum TransportMode
{
    /// <summary>RDMA when a usable device is found, else TCP (default).</summary>
    Auto,

    /// <summary>RDMA only; start-up fails without a usable device.</summary>
    Rdma,

    /// <summary>TCP only, even when RDMA is available.</summary>
    Tcp,
}

/// <summary>Configuration of the transfer engine (bound by the daemon, validated at start-up).</summary>
public sealed record TransferOptions
{
    /// <summary>Default control/transfer port.</summary>
    public const int DefaultPort = 18520;

    /// <summary>Where the engine listens for peers (default all addresses, port <see cref="DefaultPort"/>).</summary>
    public IPEndPoint ListenEndPoint { get; init; } = new(IPAddress.Any, DefaultPort);

    /// <summary>auto (default), rdma or tcp.</summary>
    public TransportMode Transport { get; init; } = TransportMode.Auto;

    /// <summary>This node's name in handshakes (the peer's <c>peer</c> metric label). Default: the host name.</summary>
    public string NodeName { get; init; } = Environment.MachineName;

    /// <summary>Flow classes by name. Default: one class "default" with DSCP 0.</summary>
    public IReadOnlyDictionary<string, FlowClass> FlowClasses { get; init; } =
        new Dictionary<string, FlowClass>(StringComparer.Ordinal) { [FlowClass.Default.Name] = FlowClass.Default };

    /// <summary>The class of connections that name none (default "default").</summary>
    public string DefaultFlowClass { get; init; } = FlowClass.Default.Name;

    /// <summary>Time to open a control connection (default 5 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time for each handshake message (default 5 s).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time a transfer may take before it faults with a timeout (default 30 s).</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the completion poller spins on an empty completion queue before it arms the
    /// completion channel and sleeps (default 50 µs; zero: always event-driven).</summary>
    public TimeSpan BusyPollBudget { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>Completions taken per poll (default 16; Mooncake polls 64).</summary>
    public int PollBatch { get; init; } = 16;

    /// <summary>Largest message received (default 64 KiB).</summary>
    public int MaxMessageBytes { get; init; } = 64 << 10;

    /// <summary>Received messages buffered per connection (default 64).</summary>
    public int ReceiveDepth { get; init; } = 64;

    /// <summary>Bytes of each buffer in the engine's registered pool (default 1 MiB).</summary>
    public int PoolBufferBytes { get; init; } = 1 << 20;

    /// <summary>Buffers in the engine's registered pool (default 64).</summary>
    public int PoolBufferCount { get; init; } = 64;

    /// <summary>Mutual TLS for every connection (the daemon always sets it); null: none (tools and tests on a trusted
    /// link). With it, <see cref="NodeName"/> must be a name of the certificate, and a peer is connected to by name.</summary>
    public Security.TransferSecurity? Security { get; init; }

    /// <summary>Listener side: handshakes in progress at once (default 64); see <see cref="ConnectionSettings.MaxPendingHandshakes"/>.</summary>
    public int MaxPendingHandshakes { get; init; } = 64;

    /// <summary>Listener side: the connection cap; see <see cref="ConnectionSettings.AdmitConnection"/>.</summary>
    public Func<IDisposable?>? AdmitConnection { get; init; }

    /// <summary>Every problem with the options (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (FlowClasses.Count == 0)
        {
            errors.Add("flow classes: none configured");
        }

        foreach (var (name, flowClass) in FlowClasses)
        {
            if (!string.Equals(name, flowClass.Name, StringComparison.Ordinal))
            {
                errors.Add($"flow class '{name}': its name says '{flowClass.Name}'");
            }

            errors.AddRange(flowClass.Validate());
        }

        if (!FlowClasses.ContainsKey(DefaultFlowClass))
        {
            errors.Add($"default flow class '{DefaultFlowClass}' is not configured");
        }

        if (BusyPollBudget < TimeSpan.Zero)
        {
            errors.Add("busy poll budget: negative");
        }

        if (PollBatch is < 1 or > 4096)
        {
            errors.Add($"poll batch: {PollBatch} is outside 1..4096");
        }

        if (PoolBufferBytes <= 0 || PoolBufferCount <= 0 || (long)PoolBufferBytes * PoolBufferCount > int.MaxValue)
        {
            errors.Add($"pool: {PoolBufferCount} buffers of {PoolBufferBytes} bytes must be positive and at most 2 GiB in all");
        }

        if (Security is not null && !DataPlane.Transfer.Security.CertificateNames.IsValidIdentity(NodeName))
        {
            errors.Add($"node name: '{NodeName}' is not a DNS name or URI (with TLS it must be a name of this node's certificate)");
        }

        var sample = Connection(FlowClass.Default, 0);
        foreach (string error in sample.Validate())
        {
            if (!errors.Contains(error))
            {
                errors.Add(error);
            }
        }

        return errors;
    }

    /// <summary>The flow class named <paramref name="name"/> (null: the default class).</summary>
    /// <exception cref="ArgumentException">No such class.</exception>
    public FlowClass GetFlowClass(string? name)
    {
        name ??= DefaultFlowClass;
        return FlowClasses.TryGetValue(name, out var flowClass)
            ? flowClass
            : throw new ArgumentException($"flow class '{name}' is not configured (known: {string.Join(", ", FlowClasses.Keys)})", nameof(name));
    }

    /// <summary>Connection settings for a connection of <paramref name="flowClass"/> (to <paramref name="expectedPeer"/>, by
    /// the name its certificate must carry, when connecting with TLS).</summary>
    public ConnectionSettings Connection(FlowClass flowClass, uint generation, RegisteredBuffer? exposedRegion = null, string? expectedPeer = null) => new()
    {
        Security = Security,
        ExpectedPeerName = expectedPeer,
        MaxPendingHandshakes = MaxPendingHandshakes,
        AdmitConnection = AdmitConnection,
        LocalName = NodeName,
        ExposedRegion = exposedRegion,
        FlowClass = flowClass,
        ResolveFlowClass = name => FlowClasses.TryGetValue(name, out var c) ? c : null,
        Generation = generation,
        ConnectTimeout = ConnectTimeout,
        HandshakeTimeout = HandshakeTimeout,
        OperationTimeout = OperationTimeout,
        MaxMessageBytes = MaxMessageBytes,
        ReceiveDepth = ReceiveDepth,
    };
}
