namespace DataPlane.Transfer.Abstractions;

/// <summary>How one connection (or every connection a listener accepts) is set up. Defaults suit loopback
/// tests and a LAN; <see cref="Engine.TransferOptions"/> fills them from configuration.</summary>
public sealed record ConnectionSettings
{
    /// <summary>Largest message <see cref="MaxMessageBytes"/> may ask for (16 MiB): messages are for control and
    /// notifications; bulk data goes by WRITE/READ into registered regions.</summary>
    public const int MaxMessageLimit = 16 << 20;

    /// <summary>This node's name, sent in the handshake; the peer uses it as the <c>peer</c> metric label.</summary>
    public string LocalName { get; init; } = Environment.MachineName;

    /// <summary>The region offered to the peer in the handshake (its <see cref="RegisteredBuffer.ToRemoteRegion"/>
    /// arrives as <see cref="ITransferConnection.PeerRegion"/>), or null to expose none.</summary>
    public RegisteredBuffer? ExposedRegion { get; init; }

    /// <summary>The flow class of an outgoing connection. A listener applies the class named by the peer,
    /// resolved with <see cref="ResolveFlowClass"/>.</summary>
    public FlowClass FlowClass { get; init; } = FlowClass.Default;

    /// <summary>Listener side: the local settings of a class the peer names (null: <see cref="FlowClass"/>
    /// with the peer's traffic class).</summary>
    public Func<string, FlowClass?>? ResolveFlowClass { get; init; }

    /// <summary>Connection generation sent in the handshake: 0 for the first connection to a peer, then
    /// incremented by each re-handshake after an error (the peer logs it and drops state of older ones).</summary>
    public uint Generation { get; init; }

    /// <summary>Time allowed to open the control connection (default 5 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time allowed for each handshake message to arrive (default 5 s).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Time a transfer may stay incomplete before its Task faults with <see cref="TransferStatus.Timeout"/>
    /// (default 30 s; <see cref="Timeout.InfiniteTimeSpan"/>: no limit).</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest message this side receives (the size of each receive buffer; default 64 KiB).
    /// Announced in the handshake; a peer's larger SEND fails with <see cref="TransferStatus.RemoteInvalidRequest"/>.</summary>
    public int MaxMessageBytes { get; init; } = 64 << 10;

    /// <summary>Messages received and not yet taken by <see cref="ITransferConnection.ReceiveAsync"/> before the
    /// transport stops reading (RDMA: receive work requests posted; default 64).</summary>
    public int ReceiveDepth { get; init; } = 64;

    /// <summary>Mutual TLS on the control connection (and, unless turned off, on TCP data); null: none, for tools and
    /// tests on a trusted link only (the daemon refuses to run the engine without it).</summary>
    public Security.TransferSecurity? Security { get; init; }

    /// <summary>Connecting with <see cref="Security"/>: the peer's identity, a DNS name or URI its certificate must name
    /// and the node name its answer must give. The address alone never identifies a peer.</summary>
    public string? ExpectedPeerName { get; init; }

    /// <summary>Listener side: connections still in their handshake (TLS included) at once; more are closed at once
    /// (default 64), so unauthenticated connections cannot pile up while each waits out its handshake timeout.</summary>
    public int MaxPendingHandshakes { get; init; } = 64;

    /// <summary>Listener side: asked for a place as each connection is accepted, before TLS; null (refused) closes the
    /// socket at once. The lease is held as long as the connection is open (its control channel gives it back), so it
    /// caps established connections as well as handshakes. Null: no cap beyond <see cref="MaxPendingHandshakes"/>.</summary>
    public Func<IDisposable?>? AdmitConnection { get; init; }

    /// <summary>Problems with the values, empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>(FlowClass.Validate());
        if (System.Text.Encoding.UTF8.GetByteCount(LocalName) > 64)
        {
            errors.Add("local name: longer than 64 bytes");
        }

        CheckPositive(errors, "connect timeout", ConnectTimeout);
        CheckPositive(errors, "handshake timeout", HandshakeTimeout);
        CheckPositive(errors, "operation timeout", OperationTimeout);
        if (MaxMessageBytes is <= 0 or > MaxMessageLimit)
        {
            errors.Add($"max message bytes: {MaxMessageBytes} is outside 1..{MaxMessageLimit}");
        }

        if (ReceiveDepth is <= 0 or > 65536)
        {
            errors.Add($"receive depth: {ReceiveDepth} is outside 1..65536");
        }

        if (MaxPendingHandshakes is <= 0 or > 65536)
        {
            errors.Add($"max pending handshakes: {MaxPendingHandshakes} is outside 1..65536");
        }

        if (ExpectedPeerName is { } expected && !DataPlane.Transfer.Security.CertificateNames.IsValidIdentity(expected))
        {
            errors.Add($"expected peer name: '{expected}' is not a DNS name or URI of at most {Handshake.HandshakeCodec.MaxNodeNameBytes} bytes");
        }

        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem.</summary>
    public void ThrowIfInvalid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid connection settings: " + string.Join("; ", errors));
        }
    }

    /// <summary>Connecting side: <see cref="ThrowIfInvalid"/>, and with TLS the peer's name must be given (a peer is
    /// identified by its certificate, never by its address).</summary>
    public void ThrowIfInvalidToConnect()
    {
        ThrowIfInvalid();
        if (Security is not null && string.IsNullOrEmpty(ExpectedPeerName))
        {
            throw new ArgumentException("connecting with TLS needs the peer's name (ExpectedPeerName): a peer is identified by its certificate, not its address");
        }
    }

    private static void CheckPositive(List<string> errors, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"{name}: {value} is not positive");
        }
    }
}
