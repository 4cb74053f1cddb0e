using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Nvml
    {
        internal const uint NVML_INIT_FLAG_NO_GPUS = 1;
        internal const int NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE = 80;
        internal const int NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE = 80;
        internal const int NVML_DEVICE_NAME_V2_BUFFER_SIZE = 96;
        internal const int NVML_DEVICE_UUID_V2_BUFFER_SIZE = 96;
        internal const int NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE = 32;
        internal const int NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE = 16;
        internal const int NVML_FEATURE_ENABLED = 1;

        /// <summary>nvmlPciInfo_t: 68 bytes, 4-byte aligned. Bus ids are NUL-terminated ASCII:
        /// <c>busIdLegacy</c> "%04X:%02X:%02X.0", <c>busId</c> "%08X:%02X:%02X.0".</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct PciInfo
        {
            public fixed byte BusIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
            public uint Domain;
            public uint Bus;
            public uint Device;
            public uint PciDeviceId;
            public uint PciSubSystemId;
            public fixed byte BusId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
        }

        /// <summary>nvmlValue_t: an 8-byte union, read by the value type NVML reports. <c>unsigned long</c> is
        /// pointer-sized on Linux (LP64 on 64-bit), hence <see cref="nuint"/>.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 8)]
        internal struct Value
        {
            [FieldOffset(0)] public double DVal;
            [FieldOffset(0)] public int SiVal;
            [FieldOffset(0)] public uint UiVal;
            [FieldOffset(0)] public nuint UlVal;
            [FieldOffset(0)] public ulong UllVal;
            [FieldOffset(0)] public long SllVal;
            [FieldOffset(0)] public ushort UsVal;
        }

        /// <summary>nvmlFieldValue_t: 40 bytes, the union at offset 32. The caller sets FieldId and ScopeId;
        /// NVML sets the rest, with a status per value in NvmlReturn.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 40)]
        internal struct FieldValue
        {
            [FieldOffset(0)] public uint FieldId;
            [FieldOffset(4)] public uint ScopeId;
            [FieldOffset(8)] public long Timestamp;
            [FieldOffset(16)] public long LatencyUsec;
            [FieldOffset(24)] public int ValueType;
            [FieldOffset(28)] public int NvmlReturn;
            [FieldOffset(32)] public Value Value;
        }
    }
}
