using System.Net;
using DataPlane.Hosting.Configuration;
using DataPlane.Hosting.Listeners;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Rdma;

namespace DataPlane.Host.Configuration;

/// <summary>The <c>Transfer</c> section: the transfer engine (RDMA or TCP) that peers spill batches through.
/// Off unless <see cref="Listen"/> or <see cref="Peers"/> is set.</summary>
public sealed record TransferSettings
{
    /// <summary>Where peers connect to spill batches here; null: this host takes no spilled batches.</summary>
    public IPEndPoint? Listen { get; init; }

    /// <summary>Peer daemons' transfer addresses; batches spill to them when local slots are busy.</summary>
    public IReadOnlyList<IPEndPoint> Peers { get; init; } = [];

    /// <summary>Addresses allowed to spill batches here; empty: any peer that reaches <see cref="Listen"/>. The transfer
    /// engine has no TLS (RDMA cannot carry it): bind Listen to the back-end fabric and name the peers here.</summary>
    public IReadOnlyList<IPAddress> AllowedPeers { get; init; } = [];

    /// <summary>Batches in flight to one peer at once (default 2).</summary>
    public int MaxBatchesPerPeer { get; init; } = 2;

    /// <summary>How long a peer that failed is left alone before the next try (default 5 s).</summary>
    public TimeSpan PeerCooldown { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The engine's options (transport, node name, flow class with DSCP/priority/SL, timeouts).</summary>
    public TransferOptions Engine { get; init; } = new();

    /// <summary>RDMA device and GID selection (used unless Transfer:Transport is tcp).</summary>
    public RdmaOptions Rdma { get; init; } = new();

    /// <summary>Without a configured RDMA device, use the RDMA NIC nearest this GPU (from topology discovery); -1: the
    /// first usable device instead. Default 0.</summary>
    public int NearGpu { get; init; }

    /// <summary>True when the engine is needed at all.</summary>
    public bool Enabled => Listen is not null || Peers.Count > 0;

    internal static TransferSettings Bind(ConfigBinder b)
    {
        IPEndPoint? listen = null;
        string listenText = b.String("Transfer:Listen", "");
        if (listenText.Length > 0 && EndPoints.Parse(listenText, "Transfer:Listen", b) is IPEndPoint endpoint)
        {
            listen = endpoint;
        }

        var peers = new List<IPEndPoint>();
        foreach (string peer in b.StringList("Transfer:Peers", []))
        {
            if (EndPoints.Parse(peer, "Transfer:Peers", b) is IPEndPoint p)
            {
                peers.Add(p);
            }
        }

        var allowed = new List<IPAddress>();
        foreach (string address in b.StringList("Transfer:AllowedPeers", []))
        {
            if (IPAddress.TryParse(address, out var ip))
            {
                allowed.Add(ip);
            }
            else
            {
                b.Error("Transfer:AllowedPeers", $"'{address}' is not an IP address");
            }
        }

        var mode = b.Enum("Transfer:Transport", TransportMode.Auto);
        var flow = new FlowClass
        {
            Name = "spill",
            Dscp = b.Int("Transfer:Dscp", 0, 0, 63),
            SocketPriority = b.Int("Transfer:SocketPriority", -1, -1, 6) is int prio and >= 0 ? prio : null,
            ServiceLevel = b.Int("Transfer:ServiceLevel", 0, 0, 15),
        };
        var engine = new TransferOptions
        {
            ListenEndPoint = listen ?? new IPEndPoint(IPAddress.Any, TransferOptions.DefaultPort),
            Transport = mode,
            NodeName = b.String("Transfer:NodeName", Environment.MachineName),
            FlowClasses = new Dictionary<string, FlowClass>(StringComparer.Ordinal) { [flow.Name] = flow },
            DefaultFlowClass = flow.Name,
            OperationTimeout = b.Seconds("Transfer:OperationTimeoutSeconds", TimeSpan.FromSeconds(30), 0.01, 3600),
            MaxMessageBytes = b.Int("Transfer:MaxMessageBytes", 1 << 20, 4096, ConnectionSettings.MaxMessageLimit),
        };
        foreach (string error in engine.Validate())
        {
            b.Error("Transfer", error);
        }

        int port = b.Int("Transfer:Rdma:Port", 0, 0, 255), gid = b.Int("Transfer:Rdma:GidIndex", -1, -1, 255);
        string device = b.String("Transfer:Rdma:Device", ""), subnet = b.String("Transfer:Rdma:Subnet", ""), library = b.String("Transfer:Rdma:LibraryPath", "");
        var rdma = new RdmaOptions
        {
            Device = device.Length > 0 ? device : null,
            Port = port > 0 ? port : null,
            GidIndex = gid >= 0 ? gid : null,
            Subnet = subnet.Length > 0 ? subnet : null,
            LibraryPath = library.Length > 0 ? library : null,
        };
        foreach (string error in rdma.Validate())
        {
            b.Error("Transfer:Rdma", error);
        }

        return new TransferSettings
        {
            Rdma = rdma,
            AllowedPeers = allowed,
            NearGpu = b.Int("Transfer:Rdma:NearGpu", 0, -1, 1023),
            Listen = listen,
            Peers = peers,
            MaxBatchesPerPeer = b.Int("Transfer:MaxBatchesPerPeer", 2, 1, 64),
            PeerCooldown = b.Seconds("Transfer:PeerCooldownSeconds", TimeSpan.FromSeconds(5), 0, 3600),
            Engine = engine,
        };
    }
}
