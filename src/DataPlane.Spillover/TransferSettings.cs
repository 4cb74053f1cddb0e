using System.Net;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Messaging;
using DataPlane.Transfer.Rdma;
using DataPlane.Transfer.Security;

namespace DataPlane.Spillover;

/// <summary>A peer daemon batches spill to: its identity (a DNS name or URI its certificate carries) and where its
/// transfer listener is. Configured as <c>NAME@HOST:PORT</c>, or <c>HOST:PORT</c> when HOST is the DNS name in the
/// certificate.</summary>
public sealed record TransferPeer(string Name, string Host, int Port)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name}@{Host}:{Port}";
}

/// <summary>Whether spill connections carry TCP data inside TLS.</summary>
public enum TransferEncryption
{
    /// <summary>Mutual TLS authenticates the peer and carries every byte (default).</summary>
    Tls,

    /// <summary>Mutual TLS authenticates the peer; TCP data then travels in clear. For isolated fabrics only.</summary>
    None,
}

/// <summary>The <c>Transfer</c> section: the transfer engine (RDMA or TCP) that peers spill batches through.
/// Off unless <see cref="Listen"/> or <see cref="Peers"/> is set; then mutual TLS is required (<c>Transfer:Tls:*</c>):
/// peers are known by the names in their certificates, never by address. The executable binds it from configuration
/// and checks the TLS files then.</summary>
public sealed record TransferSettings
{
    /// <summary>Where peers connect to spill batches here; null: this host takes no spilled batches.</summary>
    public IPEndPoint? Listen { get; init; }

    /// <summary>Peer daemons batches spill to when local slots are busy.</summary>
    public IReadOnlyList<TransferPeer> Peers { get; init; } = [];

    /// <summary>The peers that may spill here, by certificate name (default: the names of <see cref="Peers"/>; "*": any
    /// certificate from the CA).</summary>
    public PeerAllowList AllowedPeers { get; init; } = PeerAllowList.None;

    /// <summary>This node's certificate (PEM), used both to listen and to connect.</summary>
    public string? CertificatePath { get; init; }

    /// <summary>Its private key (PEM).</summary>
    public string? KeyPath { get; init; }

    /// <summary>The CA (PEM bundle) peers' certificates must chain to.</summary>
    public string? CaPath { get; init; }

    /// <summary>Revocation list (PEM or DER) signed by the CA: peer certificates it names are refused, both ways; null: none.</summary>
    public string? CrlPath { get; init; }

    /// <summary>tls (default) or none (data in clear after the authenticated handshake; isolated fabrics only).</summary>
    public TransferEncryption Encryption { get; init; } = TransferEncryption.Tls;

    /// <summary>What the spill RPC channels may hold (message size, bytes per connection and process, half-received
    /// messages and requests per connection).</summary>
    public RpcLimits Rpc { get; init; } = RpcLimits.Shared;

    /// <summary>Batches in flight to one peer at once (default 2).</summary>
    public int MaxBatchesPerPeer { get; init; } = 2;

    /// <summary>How long a peer that failed is left alone before the next try (default 5 s).</summary>
    public TimeSpan PeerCooldown { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The engine's options (transport, node name, flow class with DSCP/priority/SL, timeouts); its
    /// <see cref="TransferOptions.Security"/> is set when the service starts, from the TLS files.</summary>
    public TransferOptions Engine { get; init; } = new();

    /// <summary>RDMA device and GID selection (used unless Transfer:Transport is tcp).</summary>
    public RdmaOptions Rdma { get; init; } = new();

    /// <summary>Without a configured RDMA device, use the RDMA NIC nearest this GPU (from topology discovery); -1: the
    /// first usable device instead. Default 0.</summary>
    public int NearGpu { get; init; }

    /// <summary>True when the engine is needed at all.</summary>
    public bool Enabled => Listen is not null || Peers.Count > 0;
}
