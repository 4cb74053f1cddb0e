namespace DataPlane.Transfer.Abstractions;

/// <summary>Network priority of one class of traffic (e.g. "bulk" KV-cache moves vs "control" messages).
/// RDMA puts <see cref="TrafficClass"/> into the QP's GRH (<c>ah_attr.grh.traffic_class</c>: on RoCEv2 the IP
/// header's DSCP and ECN bits) and <see cref="ServiceLevel"/> into <c>ah_attr.sl</c>; TCP sets DSCP with
/// <c>IP_TOS</c>/<c>IPV6_TCLASS</c> and <see cref="SocketPriority"/> with <c>SO_PRIORITY</c> (what the qdisc and
/// the NIC's PFC priority mapping look at).</summary>
public sealed record FlowClass
{
    /// <summary>The class used when none is named.</summary>
    public static FlowClass Default { get; } = new() { Name = "default" };

    /// <summary>The class name; travels in the handshake so the peer applies its own settings for the same class.</summary>
    public required string Name { get; init; }

    /// <summary>DSCP code point, 0–63 (default 0). The IP TOS byte is DSCP·4.</summary>
    public int Dscp { get; init; }

    /// <summary>Linux socket priority (<c>SO_PRIORITY</c>) for TCP sockets, 0–6 without CAP_NET_ADMIN
    /// (default null: leave the kernel default).</summary>
    public int? SocketPriority { get; init; }

    /// <summary>InfiniBand service level on RDMA QPs, 0–15 (default 0).</summary>
    public int ServiceLevel { get; init; }

    /// <summary>GRH traffic class of RDMA QPs, 0–255; default DSCP·4 (ECN bits clear).</summary>
    public int? TrafficClassOverride { get; init; }

    /// <summary>The effective GRH traffic class (and the IP TOS byte of TCP sockets).</summary>
    public byte TrafficClass => (byte)(TrafficClassOverride ?? (Dscp << 2));

    /// <summary>Problems with the values, empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Name) || System.Text.Encoding.UTF8.GetByteCount(Name) > 32)
        {
            errors.Add($"flow class '{Name}': the name must be 1 to 32 bytes");
        }

        if (Dscp is < 0 or > 63)
        {
            errors.Add($"flow class '{Name}': dscp {Dscp} is outside 0..63");
        }

        if (SocketPriority is < 0 or > 15)
        {
            errors.Add($"flow class '{Name}': socket priority {SocketPriority} is outside 0..15");
        }

        if (ServiceLevel is < 0 or > 15)
        {
            errors.Add($"flow class '{Name}': service level {ServiceLevel} is outside 0..15");
        }

        if (TrafficClassOverride is < 0 or > 255)
        {
            errors.Add($"flow class '{Name}': traffic class {TrafficClassOverride} is outside 0..255");
        }

        return errors;
    }
}
