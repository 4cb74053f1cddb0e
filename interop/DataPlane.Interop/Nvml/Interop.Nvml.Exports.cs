using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Nvml
    {
        /// <summary>NVML's entry points, resolved from a loaded library into unmanaged function pointers.
        /// Each is looked up by its newest versioned name first and then by the older ones, as go-nvml does,
        /// so that an older driver still works; an entry point no driver version has is null and the caller treats
        /// it as "not supported". Every function returns an nvmlReturn_t (int) and never throws; strings are
        /// caller-provided NUL-terminated byte buffers. Nothing here binds at start-up.</summary>
        internal sealed unsafe class Exports
        {
            /// <summary>nvmlReturn_t nvmlInitWithFlags(unsigned int flags); null on drivers before it existed.</summary>
            internal readonly delegate* unmanaged<uint, int> InitWithFlags;

            /// <summary>nvmlReturn_t nvmlInit_v2(void), or nvmlInit(void).</summary>
            internal readonly delegate* unmanaged<int> Init;

            /// <summary>The name <see cref="Init"/> was found under, for messages.</summary>
            internal readonly string InitName;

            /// <summary>nvmlReturn_t nvmlShutdown(void); reference-counted with init.</summary>
            internal readonly delegate* unmanaged<int> Shutdown;

            /// <summary>const char *nvmlErrorString(nvmlReturn_t); static storage, valid without init.</summary>
            internal readonly delegate* unmanaged<int, byte*> ErrorString;

            /// <summary>nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length).</summary>
            internal readonly delegate* unmanaged<byte*, uint, int> SystemGetDriverVersion;

            /// <summary>nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length).</summary>
            internal readonly delegate* unmanaged<byte*, uint, int> SystemGetNvmlVersion;

            /// <summary>nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count), or nvmlDeviceGetCount.</summary>
            internal readonly delegate* unmanaged<uint*, int> DeviceGetCount;

            /// <summary>nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device), or unversioned.</summary>
            internal readonly delegate* unmanaged<uint, nint*, int> DeviceGetHandleByIndex;

            /// <summary>nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t, char *name, unsigned int length).</summary>
            internal readonly delegate* unmanaged<nint, byte*, uint, int> DeviceGetName;

            /// <summary>nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t, char *uuid, unsigned int length).</summary>
            internal readonly delegate* unmanaged<nint, byte*, uint, int> DeviceGetUuid;

            /// <summary>nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t, unsigned int *index).</summary>
            internal readonly delegate* unmanaged<nint, uint*, int> DeviceGetIndex;

            /// <summary>nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t, nvmlPciInfo_t *), or _v2, or unversioned
            /// (older versions fill a prefix of the same 68-byte structure).</summary>
            internal readonly delegate* unmanaged<nint, PciInfo*, int> DeviceGetPciInfo;

            /// <summary>nvmlReturn_t nvmlDeviceGetCpuAffinityWithinScope(nvmlDevice_t, unsigned int cpuSetSize,
            /// unsigned long *cpuSet, nvmlAffinityScope_t scope).</summary>
            internal readonly delegate* unmanaged<nint, uint, nuint*, uint, int> DeviceGetCpuAffinityWithinScope;

            /// <summary>nvmlReturn_t nvmlDeviceGetCpuAffinity(nvmlDevice_t, unsigned int cpuSetSize, unsigned long *cpuSet):
            /// the NUMA-node scope, for drivers without the scoped call.</summary>
            internal readonly delegate* unmanaged<nint, uint, nuint*, int> DeviceGetCpuAffinity;

            /// <summary>nvmlReturn_t nvmlDeviceGetMemoryAffinity(nvmlDevice_t, unsigned int nodeSetSize,
            /// unsigned long *nodeSet, nvmlAffinityScope_t scope).</summary>
            internal readonly delegate* unmanaged<nint, uint, nuint*, uint, int> DeviceGetMemoryAffinity;

            /// <summary>nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t, unsigned int link, nvmlEnableState_t *isActive).</summary>
            internal readonly delegate* unmanaged<nint, uint, int*, int> DeviceGetNvLinkState;

            /// <summary>nvmlReturn_t nvmlDeviceGetNvLinkVersion(nvmlDevice_t, unsigned int link, unsigned int *version).</summary>
            internal readonly delegate* unmanaged<nint, uint, uint*, int> DeviceGetNvLinkVersion;

            /// <summary>nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t, unsigned int link, nvmlPciInfo_t *),
            /// or unversioned.</summary>
            internal readonly delegate* unmanaged<nint, uint, PciInfo*, int> DeviceGetNvLinkRemotePciInfo;

            /// <summary>nvmlReturn_t nvmlDeviceGetNvLinkRemoteDeviceType(nvmlDevice_t, unsigned int link,
            /// nvmlIntNvLinkDeviceType_t *).</summary>
            internal readonly delegate* unmanaged<nint, uint, int*, int> DeviceGetNvLinkRemoteDeviceType;

            /// <summary>nvmlReturn_t nvmlDeviceGetP2PStatus(nvmlDevice_t, nvmlDevice_t, nvmlGpuP2PCapsIndex_t,
            /// nvmlGpuP2PStatus_t *).</summary>
            internal readonly delegate* unmanaged<nint, nint, int, int*, int> DeviceGetP2PStatus;

            /// <summary>nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t, nvmlDevice_t, nvmlGpuTopologyLevel_t *).</summary>
            internal readonly delegate* unmanaged<nint, nint, int*, int> DeviceGetTopologyCommonAncestor;

            /// <summary>nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t, int valuesCount, nvmlFieldValue_t *values);
            /// each value also carries its own status.</summary>
            internal readonly delegate* unmanaged<nint, int, FieldValue*, int> DeviceGetFieldValues;

            private Exports(nint library, out string? missing)
            {
                missing = null;
                InitWithFlags = (delegate* unmanaged<uint, int>)Find(library, out _, "nvmlInitWithFlags");
                Init = (delegate* unmanaged<int>)Find(library, out string? initName, "nvmlInit_v2", "nvmlInit");
                InitName = InitWithFlags != null ? "nvmlInitWithFlags" : initName ?? "nvmlInit_v2";
                Shutdown = (delegate* unmanaged<int>)Find(library, out _, "nvmlShutdown");
                ErrorString = (delegate* unmanaged<int, byte*>)Find(library, out _, "nvmlErrorString");
                SystemGetDriverVersion = (delegate* unmanaged<byte*, uint, int>)Find(library, out _, "nvmlSystemGetDriverVersion");
                SystemGetNvmlVersion = (delegate* unmanaged<byte*, uint, int>)Find(library, out _, "nvmlSystemGetNVMLVersion");
                DeviceGetCount = (delegate* unmanaged<uint*, int>)Find(library, out _, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
                DeviceGetHandleByIndex = (delegate* unmanaged<uint, nint*, int>)Find(library, out _, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
                DeviceGetName = (delegate* unmanaged<nint, byte*, uint, int>)Find(library, out _, "nvmlDeviceGetName");
                DeviceGetUuid = (delegate* unmanaged<nint, byte*, uint, int>)Find(library, out _, "nvmlDeviceGetUUID");
                DeviceGetIndex = (delegate* unmanaged<nint, uint*, int>)Find(library, out _, "nvmlDeviceGetIndex");
                DeviceGetPciInfo = (delegate* unmanaged<nint, PciInfo*, int>)Find(library, out _, "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo");
                DeviceGetCpuAffinityWithinScope = (delegate* unmanaged<nint, uint, nuint*, uint, int>)Find(library, out _, "nvmlDeviceGetCpuAffinityWithinScope");
                DeviceGetCpuAffinity = (delegate* unmanaged<nint, uint, nuint*, int>)Find(library, out _, "nvmlDeviceGetCpuAffinity");
                DeviceGetMemoryAffinity = (delegate* unmanaged<nint, uint, nuint*, uint, int>)Find(library, out _, "nvmlDeviceGetMemoryAffinity");
                DeviceGetNvLinkState = (delegate* unmanaged<nint, uint, int*, int>)Find(library, out _, "nvmlDeviceGetNvLinkState");
                DeviceGetNvLinkVersion = (delegate* unmanaged<nint, uint, uint*, int>)Find(library, out _, "nvmlDeviceGetNvLinkVersion");
                DeviceGetNvLinkRemotePciInfo = (delegate* unmanaged<nint, uint, PciInfo*, int>)Find(library, out _, "nvmlDeviceGetNvLinkRemotePciInfo_v2", "nvmlDeviceGetNvLinkRemotePciInfo");
                DeviceGetNvLinkRemoteDeviceType = (delegate* unmanaged<nint, uint, int*, int>)Find(library, out _, "nvmlDeviceGetNvLinkRemoteDeviceType");
                DeviceGetP2PStatus = (delegate* unmanaged<nint, nint, int, int*, int>)Find(library, out _, "nvmlDeviceGetP2PStatus");
                DeviceGetTopologyCommonAncestor = (delegate* unmanaged<nint, nint, int*, int>)Find(library, out _, "nvmlDeviceGetTopologyCommonAncestor");
                DeviceGetFieldValues = (delegate* unmanaged<nint, int, FieldValue*, int>)Find(library, out _, "nvmlDeviceGetFieldValues");

                // Without these nothing else can be asked; the rest are optional.
                if (InitWithFlags == null && Init == null)
                {
                    missing = "nvmlInit_v2";
                }
                else if (Shutdown == null)
                {
                    missing = "nvmlShutdown";
                }
                else if (DeviceGetCount == null)
                {
                    missing = "nvmlDeviceGetCount_v2";
                }
                else if (DeviceGetHandleByIndex == null)
                {
                    missing = "nvmlDeviceGetHandleByIndex_v2";
                }
            }

            /// <summary>Resolves every entry point; null with the name of a required one that is missing.</summary>
            internal static Exports? Resolve(nint library, out string? missing)
            {
                var exports = new Exports(library, out missing);
                return missing is null ? exports : null;
            }

            private static nint Find(nint library, out string? found, params ReadOnlySpan<string> names)
            {
                foreach (string name in names)
                {
                    if (NativeLibrary.TryGetExport(library, name, out nint address))
                    {
                        found = name;
                        return address;
                    }
                }

                found = null;
                return 0;
            }
        }
    }
}
