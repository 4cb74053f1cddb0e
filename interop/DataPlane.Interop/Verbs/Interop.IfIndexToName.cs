using System.Runtime.InteropServices;

namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>IF_NAMESIZE from &lt;net/if.h&gt;.</summary>
        internal const int IF_NAMESIZE = 16;

        /// <summary>char *if_indextoname(unsigned int ifindex, char *ifname): the interface name into a buffer of
        /// <see cref="IF_NAMESIZE"/> bytes, or NULL (ENXIO) when no interface has that index. Names the netdev
        /// behind a RoCE GID entry.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "if_indextoname")]
        internal static unsafe partial byte* IfIndexToName(uint index, byte* name);
    }
}
