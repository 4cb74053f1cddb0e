using System.Runtime.InteropServices;

namespace DataPlane.Interop.Ethtool;

/// <summary>Owns the AF_INET/SOCK_DGRAM socket that carries SIOCETHTOOL requests; closes it exactly once.</summary>
internal sealed class EthtoolSocketHandle : SafeHandle
{
    public EthtoolSocketHandle()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == -1;

    /// <summary>Opens a close-on-exec datagram socket; any socket works as the ioctl's handle.</summary>
    internal static EthtoolSocketHandle Open(string interfaceName)
    {
        int fd = Interop.Libc.Socket(Interop.Libc.AF_INET, Interop.Libc.SOCK_DGRAM | Interop.Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new EthtoolException("socket", interfaceName, Interop.Libc.LastErrno);
        }

        var h = new EthtoolSocketHandle();
        h.SetHandle(fd);
        return h;
    }

    protected override bool ReleaseHandle() => Interop.Libc.Close((int)handle) == 0;
}
