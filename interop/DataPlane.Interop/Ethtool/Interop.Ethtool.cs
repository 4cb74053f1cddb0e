using System.Runtime.InteropServices;
using DataPlane.Interop.Ethtool;

namespace DataPlane.Interop;

internal static partial class Interop
{
    /// <summary>The SIOCETHTOOL ioctl ABI (linux/ethtool.h, linux/sockios.h, net/if.h). Every size, offset and
    /// constant here is compared with the installed kernel headers by the layout test.</summary>
    internal static class Ethtool
    {
        internal const uint SIOCETHTOOL = 0x8946;
        internal const int IFNAMSIZ = 16;
        internal const int ETH_GSTRING_LEN = 32;
        internal const int ETH_SS_FEATURES = 4;
        internal const int ETHTOOL_BUSINFO_LEN = 32;

        internal const uint ETHTOOL_GDRVINFO = 0x03;
        internal const uint ETHTOOL_GCOALESCE = 0x0e;
        internal const uint ETHTOOL_SCOALESCE = 0x0f;
        internal const uint ETHTOOL_GRINGPARAM = 0x10;
        internal const uint ETHTOOL_SRINGPARAM = 0x11;
        internal const uint ETHTOOL_GSTRINGS = 0x1b;
        internal const uint ETHTOOL_GSSET_INFO = 0x37;
        internal const uint ETHTOOL_GFEATURES = 0x3a;
        internal const uint ETHTOOL_SFEATURES = 0x3b;
        internal const uint ETHTOOL_GCHANNELS = 0x3c;

        /// <summary>SFEATURES return bits: some valid bits were not changeable and were ignored.</summary>
        internal const int ETHTOOL_F_UNSUPPORTED = 1 << 0;

        /// <summary>SFEATURES return bits: the request was recorded but the active set differs from it.</summary>
        internal const int ETHTOOL_F_WISH = 1 << 1;

        /// <summary>SFEATURES return bits: the change went through the driver's legacy per-feature ops.</summary>
        internal const int ETHTOOL_F_COMPAT = 1 << 2;

        /// <summary>The name of an ethtool command, for error messages.</summary>
        internal static string CommandName(uint cmd) => cmd switch
        {
            ETHTOOL_GDRVINFO => nameof(ETHTOOL_GDRVINFO),
            ETHTOOL_GCOALESCE => nameof(ETHTOOL_GCOALESCE),
            ETHTOOL_SCOALESCE => nameof(ETHTOOL_SCOALESCE),
            ETHTOOL_GRINGPARAM => nameof(ETHTOOL_GRINGPARAM),
            ETHTOOL_SRINGPARAM => nameof(ETHTOOL_SRINGPARAM),
            ETHTOOL_GSTRINGS => nameof(ETHTOOL_GSTRINGS),
            ETHTOOL_GSSET_INFO => nameof(ETHTOOL_GSSET_INFO),
            ETHTOOL_GFEATURES => nameof(ETHTOOL_GFEATURES),
            ETHTOOL_SFEATURES => nameof(ETHTOOL_SFEATURES),
            ETHTOOL_GCHANNELS => nameof(ETHTOOL_GCHANNELS),
            _ => "ETHTOOL_0x" + cmd.ToString("x2", System.Globalization.CultureInfo.InvariantCulture),
        };

        /// <summary>struct ifreq on LP64 Linux: ifr_name[IFNAMSIZ] at 0, then a 24-byte union whose
        /// ifr_data pointer (here: the ethtool command structure) sits at 16; 40 bytes in all.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 40)]
        internal unsafe struct Ifreq
        {
            [FieldOffset(0)]
            public fixed byte Name[IFNAMSIZ];

            [FieldOffset(16)]
            public void* Data;
        }

        /// <summary>struct ethtool_coalesce: cmd followed by the 22 parameters (92 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Coalesce
        {
            public uint Cmd;
            public EthtoolCoalesce Params;
        }

        /// <summary>struct ethtool_ringparam: cmd followed by four maxima and four current sizes (36 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct RingParam
        {
            public uint Cmd;
            public EthtoolRing Params;
        }

        /// <summary>struct ethtool_channels: cmd followed by four maxima and four counts (36 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Channels
        {
            public uint Cmd;
            public EthtoolChannels Params;
        }

        /// <summary>struct ethtool_value, used by the legacy single-value commands (GGRO, STSO, …).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Value
        {
            public uint Cmd;
            public uint Data;
        }

        /// <summary>struct ethtool_sset_info header; one __u32 count per bit of the returned sset_mask follows at 16.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct SsetInfo
        {
            public uint Cmd;
            public uint Reserved;
            public ulong SsetMask;
        }

        /// <summary>struct ethtool_gstrings header; len × ETH_GSTRING_LEN bytes of NUL-padded names follow at 12.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Gstrings
        {
            public uint Cmd;
            public uint StringSet;
            public uint Len;
        }

        /// <summary>struct ethtool_gfeatures / ethtool_sfeatures header; size blocks follow at 8.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct FeaturesHeader
        {
            public uint Cmd;
            public uint Size;
        }

        /// <summary>struct ethtool_get_features_block: 32 features per block, one bit each (16 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct GetFeaturesBlock
        {
            public uint Available;
            public uint Requested;
            public uint Active;
            public uint NeverChanged;
        }

        /// <summary>struct ethtool_set_features_block: which bits to change and their new values (8 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct SetFeaturesBlock
        {
            public uint Valid;
            public uint Requested;
        }

        /// <summary>struct ethtool_drvinfo (196 bytes); bus_info is the PCI address for PCI devices.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct DrvInfo
        {
            public uint Cmd;
            public fixed byte Driver[32];
            public fixed byte Version[32];
            public fixed byte FwVersion[32];
            public fixed byte BusInfo[ETHTOOL_BUSINFO_LEN];
            public fixed byte EromVersion[32];
            public fixed byte Reserved2[12];
            public uint NPrivFlags;
            public uint NStats;
            public uint TestinfoLen;
            public uint EedumpLen;
            public uint RegdumpLen;
        }
    }
}
