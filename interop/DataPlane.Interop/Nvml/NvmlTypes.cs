namespace DataPlane.Interop.Nvml;

/// <summary>An NVML device handle (nvmlDevice_t) and the index it was opened by. Valid while the
/// <see cref="NvmlLibrary"/> that produced it is open.</summary>
public readonly record struct NvmlDevice
{
    internal NvmlDevice(nint handle, int index)
    {
        Handle = handle;
        Index = index;
    }

    /// <summary>The index passed to <see cref="NvmlLibrary.GetDevice(int)"/>.</summary>
    public int Index { get; }

    internal nint Handle { get; }
}

/// <summary>nvmlPciInfo_t, decoded.</summary>
/// <param name="BusId">NVML's bus id, e.g. <c>00000000:18:00.0</c> (8-digit domain, upper-case hex).</param>
/// <param name="BusIdLegacy">The legacy form, e.g. <c>0000:18:00.0</c>.</param>
/// <param name="Domain">PCI domain.</param>
/// <param name="Bus">PCI bus.</param>
/// <param name="Device">PCI device (slot).</param>
/// <param name="PciDeviceId">Device id &lt;&lt; 16 | vendor id.</param>
/// <param name="PciSubSystemId">Subsystem id; 0 where NVML does not fill it in (remote NVLink ends).</param>
public sealed record NvmlPciInfo(string BusId, string BusIdLegacy, uint Domain, uint Bus, uint Device, uint PciDeviceId, uint PciSubSystemId);

/// <summary>PCIe distance between two GPUs (nvmlGpuTopologyLevel_t), nearest first.</summary>
public enum NvmlTopologyLevel
{
    /// <summary>NVML_TOPOLOGY_INTERNAL: the same device.</summary>
    Internal = 0,

    /// <summary>NVML_TOPOLOGY_SINGLE: at most one PCIe switch (nvidia-smi PIX).</summary>
    Single = 10,

    /// <summary>NVML_TOPOLOGY_MULTIPLE: several switches, no host bridge (PXB).</summary>
    Multiple = 20,

    /// <summary>NVML_TOPOLOGY_HOSTBRIDGE: through a host bridge (PHB).</summary>
    HostBridge = 30,

    /// <summary>NVML_TOPOLOGY_NODE: between host bridges of one NUMA node (NODE).</summary>
    Node = 40,

    /// <summary>NVML_TOPOLOGY_SYSTEM: across the SMP interconnect (SYS).</summary>
    System = 50,
}

/// <summary>Which peer-to-peer capability to ask about (nvmlGpuP2PCapsIndex_t).</summary>
public enum NvmlP2PCapsIndex
{
    /// <summary>NVML_P2P_CAPS_INDEX_READ.</summary>
    Read = 0,

    /// <summary>NVML_P2P_CAPS_INDEX_WRITE.</summary>
    Write = 1,

    /// <summary>NVML_P2P_CAPS_INDEX_NVLINK.</summary>
    NvLink = 2,

    /// <summary>NVML_P2P_CAPS_INDEX_ATOMICS.</summary>
    Atomics = 3,

    /// <summary>NVML_P2P_CAPS_INDEX_PCI.</summary>
    Pci = 4,
}

/// <summary>Peer-to-peer status (nvmlGpuP2PStatus_t).</summary>
public enum NvmlP2PStatus
{
    /// <summary>NVML_P2P_STATUS_OK.</summary>
    Ok = 0,

    /// <summary>NVML_P2P_STATUS_CHIPSET_NOT_SUPPORTED.</summary>
    ChipsetNotSupported = 1,

    /// <summary>NVML_P2P_STATUS_GPU_NOT_SUPPORTED.</summary>
    GpuNotSupported = 2,

    /// <summary>NVML_P2P_STATUS_IOH_TOPOLOGY_NOT_SUPPORTED.</summary>
    IohTopologyNotSupported = 3,

    /// <summary>NVML_P2P_STATUS_DISABLED_BY_REGKEY.</summary>
    DisabledByRegkey = 4,

    /// <summary>NVML_P2P_STATUS_NOT_SUPPORTED.</summary>
    NotSupported = 5,

    /// <summary>NVML_P2P_STATUS_UNKNOWN.</summary>
    Unknown = 6,
}

/// <summary>What sits at the far end of an NVLink (nvmlIntNvLinkDeviceType_t).</summary>
public enum NvmlNvLinkDeviceType
{
    /// <summary>NVML_NVLINK_DEVICE_TYPE_GPU.</summary>
    Gpu = 0x00,

    /// <summary>NVML_NVLINK_DEVICE_TYPE_IBMNPU.</summary>
    IbmNpu = 0x01,

    /// <summary>NVML_NVLINK_DEVICE_TYPE_SWITCH: an NVSwitch; the remote PCI info is the switch's.</summary>
    Switch = 0x02,

    /// <summary>NVML_NVLINK_DEVICE_TYPE_UNKNOWN.</summary>
    Unknown = 0xFF,
}

/// <summary>Scope of CPU and memory affinity (nvmlAffinityScope_t).</summary>
public enum NvmlAffinityScope
{
    /// <summary>NVML_AFFINITY_SCOPE_NODE: the GPU's NUMA node.</summary>
    Node = 0,

    /// <summary>NVML_AFFINITY_SCOPE_SOCKET: the GPU's socket.</summary>
    Socket = 1,
}

/// <summary>Which member of a field value's union holds the value (nvmlValueType_t).</summary>
public enum NvmlValueType
{
    /// <summary>NVML_VALUE_TYPE_DOUBLE.</summary>
    Double = 0,

    /// <summary>NVML_VALUE_TYPE_UNSIGNED_INT.</summary>
    UnsignedInt = 1,

    /// <summary>NVML_VALUE_TYPE_UNSIGNED_LONG.</summary>
    UnsignedLong = 2,

    /// <summary>NVML_VALUE_TYPE_UNSIGNED_LONG_LONG.</summary>
    UnsignedLongLong = 3,

    /// <summary>NVML_VALUE_TYPE_SIGNED_LONG_LONG.</summary>
    SignedLongLong = 4,

    /// <summary>NVML_VALUE_TYPE_SIGNED_INT.</summary>
    SignedInt = 5,

    /// <summary>NVML_VALUE_TYPE_UNSIGNED_SHORT.</summary>
    UnsignedShort = 6,
}

/// <summary>Field ids (NVML_FI_DEV_*) for <see cref="NvmlLibrary.GetFieldValues"/> that DataPlane reads.</summary>
public static class NvmlFieldIds
{
    /// <summary>NVML_FI_DEV_NVLINK_LINK_COUNT: NVLinks present on the device. Size link loops with this,
    /// never with NVML_NVLINK_MAX_LINKS (12, 18 or 36 depending on the header).</summary>
    public const uint NvLinkLinkCount = 91;

    /// <summary>NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX: cumulative KiB sent; scope = link, or <see cref="AllLinks"/>.</summary>
    public const uint NvLinkThroughputDataTx = 138;

    /// <summary>NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX: cumulative KiB received; scope = link, or <see cref="AllLinks"/>.</summary>
    public const uint NvLinkThroughputDataRx = 139;

    /// <summary>NVML_FI_DEV_NVSWITCH_CONNECTED_LINK_COUNT: links attached to NVSwitches.</summary>
    public const uint NvSwitchConnectedLinkCount = 147;

    /// <summary>NVML_FI_DEV_NVLINK_GET_SPEED: link speed in MBps; scope = link.</summary>
    public const uint NvLinkGetSpeed = 164;

    /// <summary>The scope id that asks a per-link field for the sum over all links (UINT_MAX).</summary>
    public const uint AllLinks = uint.MaxValue;
}

/// <summary>One entry of <see cref="NvmlLibrary.GetFieldValues"/>: the request (field and scope) and,
/// after the call, NVML's answer with its own status.</summary>
public readonly record struct NvmlFieldValue
{
    private readonly ulong _raw;

    /// <summary>A request for a field; <paramref name="scopeId"/> is the link index for per-link fields.</summary>
    public NvmlFieldValue(uint fieldId, uint scopeId = 0)
    {
        FieldId = fieldId;
        ScopeId = scopeId;
        Return = NvmlReturn.NoData;
    }

    internal NvmlFieldValue(in Interop.Nvml.FieldValue native)
    {
        FieldId = native.FieldId;
        ScopeId = native.ScopeId;
        Return = (NvmlReturn)native.NvmlReturn;
        ValueType = (NvmlValueType)native.ValueType;
        TimestampMicroseconds = native.Timestamp;
        _raw = native.Value.UllVal;
    }

    /// <summary>The field id (NVML_FI_*).</summary>
    public uint FieldId { get; }

    /// <summary>The scope: a link index, or <see cref="NvmlFieldIds.AllLinks"/>.</summary>
    public uint ScopeId { get; }

    /// <summary>This value's own status; <see cref="NvmlReturn.NoData"/> until NVML has answered.</summary>
    public NvmlReturn Return { get; }

    /// <summary>Which union member NVML filled in.</summary>
    public NvmlValueType ValueType { get; }

    /// <summary>When NVML sampled the value, in microseconds since the Unix epoch.</summary>
    public long TimestampMicroseconds { get; }

    /// <summary>The value as an unsigned integer: false when the status is not success, the type is a double,
    /// or a signed value is negative.</summary>
    public bool TryGetUInt64(out ulong value)
    {
        value = 0;
        if (Return != NvmlReturn.Success)
        {
            return false;
        }

        switch (ValueType)
        {
            case NvmlValueType.UnsignedInt:
                value = (uint)_raw;
                return true;
            case NvmlValueType.UnsignedLong:
                value = nuint.Size == 8 ? _raw : (uint)_raw;
                return true;
            case NvmlValueType.UnsignedLongLong:
                value = _raw;
                return true;
            case NvmlValueType.UnsignedShort:
                value = (ushort)_raw;
                return true;
            case NvmlValueType.SignedLongLong when (long)_raw >= 0:
                value = _raw;
                return true;
            case NvmlValueType.SignedInt when (int)_raw >= 0:
                value = (uint)(int)_raw;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The value as a double, whatever its type; false when the status is not success.</summary>
    public bool TryGetDouble(out double value)
    {
        value = 0;
        if (Return != NvmlReturn.Success)
        {
            return false;
        }

        value = ValueType switch
        {
            NvmlValueType.Double => BitConverter.UInt64BitsToDouble(_raw),
            NvmlValueType.SignedLongLong => (long)_raw,
            NvmlValueType.SignedInt => (int)_raw,
            _ => TryGetUInt64(out ulong u) ? u : 0,
        };
        return true;
    }
}
