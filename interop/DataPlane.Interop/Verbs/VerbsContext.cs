using System.Globalization;
using System.Runtime.InteropServices;

namespace DataPlane.Interop.Verbs;

/// <summary>An open RDMA device (struct ibv_context): queries, and the factory for protection domains, completion
/// channels and completion queues. Disposing it closes the device once everything made from it is disposed too.</summary>
public sealed unsafe class VerbsContext : IDisposable
{
    private readonly VerbsLibrary _library;

    internal VerbsContext(VerbsLibrary library, ContextHandle handle, string deviceName)
    {
        _library = library;
        Handle = handle;
        DeviceName = deviceName;
    }

    /// <summary>The device name, e.g. "mlx5_0".</summary>
    public string DeviceName { get; }

    internal ContextHandle Handle { get; }

    internal Interop.Verbs.Exports Exports => Handle.Exports;

    /// <summary>Device limits (ibv_query_device).</summary>
    public VerbsDeviceAttributes QueryDevice()
    {
        using var lease = new Lease(Handle);
        Interop.Verbs.IbvDeviceAttr attr;
        int rc = Exports.QueryDevice(lease.Native, &attr);
        if (rc != 0)
        {
            throw new VerbsException("ibv_query_device", rc, DeviceName);
        }

        return new VerbsDeviceAttributes(
            VerbsLibrary.Utf8(attr.FwVer, 64),
            attr.NodeGuid,
            attr.MaxMrSize,
            attr.MaxQp,
            attr.MaxQpWr,
            attr.MaxSge,
            attr.MaxCq,
            attr.MaxCqe,
            attr.MaxMr,
            attr.MaxPd,
            attr.MaxQpRdAtom,
            attr.MaxQpInitRdAtom,
            attr.PhysPortCnt);
    }

    /// <summary>A port's state, MTUs, link layer and populated GID entries (ibv_query_port, then the GID table).</summary>
    /// <param name="port">1-based port number.</param>
    public VerbsPortInfo QueryPort(int port)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 255);
        using var lease = new Lease(Handle);
        Interop.Verbs.IbvPortAttr attr = default; // zeroed beyond what the compat export writes
        int rc = Exports.QueryPort(lease.Native, (byte)port, &attr);
        if (rc != 0)
        {
            throw new VerbsException("ibv_query_port", rc, $"{DeviceName} port {port}");
        }

        var linkLayer = (LinkLayer)attr.LinkLayer;
        var gids = QueryGids(lease.Native, port, attr.GidTblLen, linkLayer);
        return new VerbsPortInfo(port, (PortState)attr.State, (Mtu)attr.MaxMtu, (Mtu)attr.ActiveMtu, linkLayer, attr.GidTblLen, attr.Lid, gids);
    }

    /// <summary>Allocates a protection domain (ibv_alloc_pd).</summary>
    public ProtectionDomain AllocateProtectionDomain()
    {
        var handle = new PdHandle(Exports, Handle);
        Marshal.SetLastSystemError(0);
        nint pd = Exports.AllocPd(Handle.DangerousGetHandle());
        int errno = Marshal.GetLastSystemError();
        if (pd == 0)
        {
            handle.Abandon();
            throw new VerbsException("ibv_alloc_pd", errno, DeviceName);
        }

        handle.Attach(pd);
        return new ProtectionDomain(this, handle);
    }

    /// <summary>Creates a completion channel (ibv_create_comp_channel): a file descriptor that becomes readable when an
    /// armed completion queue attached to it gets a completion.</summary>
    public CompletionChannel CreateCompletionChannel()
    {
        var handle = new ChannelHandle(Exports, Handle);
        Marshal.SetLastSystemError(0);
        nint channel = Exports.CreateCompChannel(Handle.DangerousGetHandle());
        int errno = Marshal.GetLastSystemError();
        if (channel == 0)
        {
            handle.Abandon();
            throw new VerbsException("ibv_create_comp_channel", errno, DeviceName);
        }

        handle.Attach(channel);
        return new CompletionChannel(handle);
    }

    /// <summary>Creates a completion queue (ibv_create_cq).</summary>
    /// <param name="entries">Minimum number of completions it holds (the device may give more; see
    /// <see cref="CompletionQueue.Capacity"/>). Size it for every signalled WR that can be outstanding.</param>
    /// <param name="channel">A channel to report events to after <see cref="CompletionQueue.RequestNotify"/>, or null
    /// for a polled-only queue.</param>
    /// <param name="completionVector">The interrupt vector (0..num_comp_vectors-1).</param>
    public CompletionQueue CreateCompletionQueue(int entries, CompletionChannel? channel = null, int completionVector = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(entries, 1);
        var handle = channel is null ? new CqHandle(Exports, Handle) : new CqHandle(Exports, Handle, channel.Handle);
        Marshal.SetLastSystemError(0);
        nint cq = Exports.CreateCq(Handle.DangerousGetHandle(), entries, 0, channel?.Handle.DangerousGetHandle() ?? 0, completionVector);
        int errno = Marshal.GetLastSystemError();
        if (cq == 0)
        {
            handle.Abandon();
            throw new VerbsException("ibv_create_cq", errno, $"{DeviceName}, {entries} entries");
        }

        handle.Attach(cq);
        var queue = new CompletionQueue(handle, Handle.Ops, channel);
        channel?.Register(cq, queue);
        return queue;
    }

    /// <summary>Closes the device once every object made from it is disposed.</summary>
    public void Dispose() => Handle.Dispose();

    private List<VerbsGidEntry> QueryGids(nint context, int port, int tableLength, LinkLayer linkLayer)
    {
        var entries = new List<VerbsGidEntry>();
        bool useEx = Exports.QueryGidEx != null;
        byte* raw = stackalloc byte[VerbsGid.Size];
        for (int index = 0; index < tableLength; index++)
        {
            if (useEx)
            {
                Interop.Verbs.IbvGidEntry entry;
                int rc = Exports.QueryGidEx(context, (uint)port, (uint)index, &entry, 0, Interop.Verbs.GidEntrySize);
                if (rc == 0)
                {
                    var gid = new VerbsGid(new ReadOnlySpan<byte>(entry.Gid, VerbsGid.Size));
                    int ifindex = (int)entry.NdevIfindex;
                    entries.Add(new VerbsGidEntry(index, gid, (GidType)entry.GidType, ifindex, NetdevName(ifindex)));
                    continue;
                }

                if (rc == Interop.Verbs.ENODATA)
                {
                    continue; // empty slot
                }

                if (rc is not (Interop.Libc.EOPNOTSUPP or Interop.Verbs.ENOSYS))
                {
                    throw new VerbsException("_ibv_query_gid_ex", rc, $"{DeviceName} port {port} index {index}");
                }

                useEx = false; // the library or kernel cannot say: ask sysfs, from this index on
            }

            int qrc = Exports.QueryGid(context, (byte)port, index, raw);
            if (qrc != 0)
            {
                throw new VerbsException("ibv_query_gid", qrc, $"{DeviceName} port {port} index {index}");
            }

            var plain = new VerbsGid(new ReadOnlySpan<byte>(raw, VerbsGid.Size));
            if (plain.IsZero)
            {
                continue;
            }

            string? netdev = SysfsText(port, "ndevs", index);
            entries.Add(new VerbsGidEntry(index, plain, SysfsGidType(port, index, linkLayer), SysfsIfIndex(netdev), string.IsNullOrEmpty(netdev) ? null : netdev));
        }

        return entries;
    }

    /// <summary>The type from <c>ports/&lt;p&gt;/gid_attrs/types/&lt;i&gt;</c> ("IB/RoCE v1" or "RoCE v2"), as rdma-core
    /// reads it; IB ports have no such file.</summary>
    private GidType SysfsGidType(int port, int index, LinkLayer linkLayer)
    {
        bool ib = linkLayer is LinkLayer.InfiniBand or LinkLayer.Unspecified;
        return SysfsText(port, "types", index) switch
        {
            "RoCE v2" => GidType.RoceV2,
            "IB/RoCE v1" => ib ? GidType.InfiniBand : GidType.RoceV1,
            _ => ib ? GidType.InfiniBand : GidType.Unknown,
        };
    }

    private string? SysfsText(int port, string attribute, int index)
    {
        string path = Path.Combine(_library.SysfsRoot, "class", "infiniband", DeviceName, "ports",
            port.ToString(CultureInfo.InvariantCulture), "gid_attrs", attribute, index.ToString(CultureInfo.InvariantCulture));
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // e.g. EINVAL reading a type on an IB port
        }
    }

    private int SysfsIfIndex(string? netdev)
    {
        if (string.IsNullOrEmpty(netdev))
        {
            return 0;
        }

        string path = Path.Combine(_library.SysfsRoot, "class", "net", netdev, "ifindex");
        try
        {
            return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture, out int i) ? i : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static string? NetdevName(int ifindex)
    {
        if (ifindex <= 0)
        {
            return null;
        }

        byte* name = stackalloc byte[Interop.Libc.IF_NAMESIZE];
        return Interop.Libc.IfIndexToName((uint)ifindex, name) == null ? null : VerbsLibrary.Utf8(name, Interop.Libc.IF_NAMESIZE);
    }
}
