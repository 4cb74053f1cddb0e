using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DataPlane.Interop.Nvml;
using DataPlane.Testing;
using static DataPlane.Interop.Interop.Nvml;

namespace DataPlane.Interop.Tests.Nvml;

/// <summary>Compiles native/layout/nvml_layout.c against native/nvml/dataplane_nvml.h and checks every managed
/// NVML structure, constant and enumeration against it.</summary>
public class NvmlLayoutTests
{
    private static readonly NativeLayout s_native = new("nvml_layout.c");

    [Fact]
    public void PciInfo_matches_the_C_layout()
    {
        Assert.Equal(68, Native("sizeof(nvmlPciInfo_t)"));
        Assert.Equal(Native("sizeof(nvmlPciInfo_t)"), Unsafe.SizeOf<PciInfo>());
        Assert.Equal(Native("sizeof(nvmlPciInfo_t)"), Marshal.SizeOf<PciInfo>());
        AssertOffset<PciInfo>("nvmlPciInfo_t", "busIdLegacy", nameof(PciInfo.BusIdLegacy));
        AssertOffset<PciInfo>("nvmlPciInfo_t", "domain", nameof(PciInfo.Domain));
        AssertOffset<PciInfo>("nvmlPciInfo_t", "bus", nameof(PciInfo.Bus));
        AssertOffset<PciInfo>("nvmlPciInfo_t", "device", nameof(PciInfo.Device));
        AssertOffset<PciInfo>("nvmlPciInfo_t", "pciDeviceId", nameof(PciInfo.PciDeviceId));
        AssertOffset<PciInfo>("nvmlPciInfo_t", "pciSubSystemId", nameof(PciInfo.PciSubSystemId));
        AssertOffset<PciInfo>("nvmlPciInfo_t", "busId", nameof(PciInfo.BusId));
    }

    [Fact]
    public void FieldValue_matches_the_C_layout()
    {
        Assert.Equal(40, Native("sizeof(nvmlFieldValue_t)"));
        Assert.Equal(Native("sizeof(nvmlFieldValue_t)"), Unsafe.SizeOf<FieldValue>());
        Assert.Equal(Native("sizeof(nvmlValue_t)"), Unsafe.SizeOf<Value>());
        AssertOffset<FieldValue>("nvmlFieldValue_t", "fieldId", nameof(FieldValue.FieldId));
        AssertOffset<FieldValue>("nvmlFieldValue_t", "scopeId", nameof(FieldValue.ScopeId));
        AssertOffset<FieldValue>("nvmlFieldValue_t", "timestamp", nameof(FieldValue.Timestamp));
        AssertOffset<FieldValue>("nvmlFieldValue_t", "latencyUsec", nameof(FieldValue.LatencyUsec));
        AssertOffset<FieldValue>("nvmlFieldValue_t", "valueType", nameof(FieldValue.ValueType));
        AssertOffset<FieldValue>("nvmlFieldValue_t", "nvmlReturn", nameof(FieldValue.NvmlReturn));
        AssertOffset<FieldValue>("nvmlFieldValue_t", "value", nameof(FieldValue.Value));
    }

    [Fact]
    public void Scalar_types_have_the_C_sizes()
    {
        AssertNative("sizeof(nvmlReturn_t)", sizeof(int));
        AssertNative("sizeof(nvmlDevice_t)", nint.Size);
        AssertNative("sizeof(unsigned long)", nuint.Size);
        AssertNative("sizeof(nvmlAffinityScope_t)", sizeof(uint));
    }

    [Fact]
    public void Constants_match_the_header()
    {
        AssertNative("NVML_INIT_FLAG_NO_GPUS", NVML_INIT_FLAG_NO_GPUS);
        AssertNative("NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE", NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE);
        AssertNative("NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE", NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE);
        AssertNative("NVML_DEVICE_NAME_V2_BUFFER_SIZE", NVML_DEVICE_NAME_V2_BUFFER_SIZE);
        AssertNative("NVML_DEVICE_UUID_V2_BUFFER_SIZE", NVML_DEVICE_UUID_V2_BUFFER_SIZE);
        AssertNative("NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE", NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE);
        AssertNative("NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE", NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE);
        AssertNative("NVML_FEATURE_ENABLED", NVML_FEATURE_ENABLED);
        AssertNative("NVML_FI_DEV_NVLINK_LINK_COUNT", NvmlFieldIds.NvLinkLinkCount);
        AssertNative("NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX", NvmlFieldIds.NvLinkThroughputDataTx);
        AssertNative("NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX", NvmlFieldIds.NvLinkThroughputDataRx);
        AssertNative("NVML_FI_DEV_NVSWITCH_CONNECTED_LINK_COUNT", NvmlFieldIds.NvSwitchConnectedLinkCount);
        AssertNative("NVML_FI_DEV_NVLINK_GET_SPEED", NvmlFieldIds.NvLinkGetSpeed);
        AssertNative("UINT_MAX", NvmlFieldIds.AllLinks);
        AssertNative("NVML_AFFINITY_SCOPE_NODE", (long)NvmlAffinityScope.Node);
        AssertNative("NVML_AFFINITY_SCOPE_SOCKET", (long)NvmlAffinityScope.Socket);
    }

    [Fact]
    public void Enumerations_match_the_header()
    {
        AssertEnum("NVML_VALUE_TYPE_", new Dictionary<string, NvmlValueType>
        {
            ["DOUBLE"] = NvmlValueType.Double,
            ["UNSIGNED_INT"] = NvmlValueType.UnsignedInt,
            ["UNSIGNED_LONG"] = NvmlValueType.UnsignedLong,
            ["UNSIGNED_LONG_LONG"] = NvmlValueType.UnsignedLongLong,
            ["SIGNED_LONG_LONG"] = NvmlValueType.SignedLongLong,
            ["SIGNED_INT"] = NvmlValueType.SignedInt,
            ["UNSIGNED_SHORT"] = NvmlValueType.UnsignedShort,
        });
        AssertEnum("NVML_TOPOLOGY_", new Dictionary<string, NvmlTopologyLevel>
        {
            ["INTERNAL"] = NvmlTopologyLevel.Internal,
            ["SINGLE"] = NvmlTopologyLevel.Single,
            ["MULTIPLE"] = NvmlTopologyLevel.Multiple,
            ["HOSTBRIDGE"] = NvmlTopologyLevel.HostBridge,
            ["NODE"] = NvmlTopologyLevel.Node,
            ["SYSTEM"] = NvmlTopologyLevel.System,
        });
        AssertEnum("NVML_P2P_CAPS_INDEX_", new Dictionary<string, NvmlP2PCapsIndex>
        {
            ["READ"] = NvmlP2PCapsIndex.Read,
            ["WRITE"] = NvmlP2PCapsIndex.Write,
            ["NVLINK"] = NvmlP2PCapsIndex.NvLink,
            ["ATOMICS"] = NvmlP2PCapsIndex.Atomics,
            ["PCI"] = NvmlP2PCapsIndex.Pci,
        });
        AssertEnum("NVML_P2P_STATUS_", new Dictionary<string, NvmlP2PStatus>
        {
            ["OK"] = NvmlP2PStatus.Ok,
            ["CHIPSET_NOT_SUPPORTED"] = NvmlP2PStatus.ChipsetNotSupported,
            ["GPU_NOT_SUPPORTED"] = NvmlP2PStatus.GpuNotSupported,
            ["IOH_TOPOLOGY_NOT_SUPPORTED"] = NvmlP2PStatus.IohTopologyNotSupported,
            ["DISABLED_BY_REGKEY"] = NvmlP2PStatus.DisabledByRegkey,
            ["NOT_SUPPORTED"] = NvmlP2PStatus.NotSupported,
            ["UNKNOWN"] = NvmlP2PStatus.Unknown,
        });
        AssertEnum("NVML_NVLINK_DEVICE_TYPE_", new Dictionary<string, NvmlNvLinkDeviceType>
        {
            ["GPU"] = NvmlNvLinkDeviceType.Gpu,
            ["IBMNPU"] = NvmlNvLinkDeviceType.IbmNpu,
            ["SWITCH"] = NvmlNvLinkDeviceType.Switch,
            ["UNKNOWN"] = NvmlNvLinkDeviceType.Unknown,
        });
    }

    [Fact]
    public void Every_return_code_has_its_C_name_and_value()
    {
        var codes = Enum.GetValues<NvmlReturn>();
        Assert.Equal(32, codes.Length);
        foreach (var code in codes)
        {
            Assert.Equal(Native(NvmlReturns.Name(code)), (long)code);
        }

        Assert.Equal("NVML_ERROR_1000", NvmlReturns.Name((NvmlReturn)1000));
    }

    private static void AssertEnum<T>(string prefix, Dictionary<string, T> members)
        where T : struct, Enum
    {
        Assert.Equal(Enum.GetValues<T>().Length, members.Count);
        foreach (var (name, value) in members)
        {
            Assert.Equal(Native(prefix + name), Convert.ToInt64(value, CultureInfo.InvariantCulture));
        }
    }

    private static void AssertNative(string name, long managed) => Assert.Equal(Native(name), managed);

    private static void AssertOffset<T>(string type, string field, string managedField) =>
        Assert.Equal(Native($"offsetof({type},{field})"), (long)Marshal.OffsetOf<T>(managedField));

    private static long Native(string name) => s_native.Value(name);
}
