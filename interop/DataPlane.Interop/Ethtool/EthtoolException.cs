namespace DataPlane.Interop.Ethtool;

/// <summary>An ethtool request failed. The message names the command, the interface and the errno name, with a
/// plain reading of the common ones. EOPNOTSUPP is not reported this way: it is a normal answer
/// (<c>Try…</c> returns false, SET returns <see cref="EthtoolSetResult.NotSupported"/>).</summary>
public sealed class EthtoolException : Exception
{
    /// <summary>Creates the error for <paramref name="command"/> ("ETHTOOL_SCOALESCE", "socket") failing with
    /// <paramref name="errno"/> on <paramref name="interfaceName"/>.</summary>
    public EthtoolException(string command, string interfaceName, int errno)
        : base(Describe(command, interfaceName, errno))
    {
        Command = command;
        InterfaceName = interfaceName;
        Errno = errno;
    }

    /// <summary>Creates an error with a free-form message (errno 0).</summary>
    public EthtoolException(string message)
        : base(message)
    {
        Command = string.Empty;
        InterfaceName = string.Empty;
    }

    /// <summary>Creates an error with a free-form message and a cause (errno 0).</summary>
    public EthtoolException(string message, Exception inner)
        : base(message, inner)
    {
        Command = string.Empty;
        InterfaceName = string.Empty;
    }

    /// <summary>Creates an empty error.</summary>
    public EthtoolException()
    {
        Command = string.Empty;
        InterfaceName = string.Empty;
    }

    /// <summary>The ethtool command (or "socket") that failed.</summary>
    public string Command { get; }

    /// <summary>The interface the request named.</summary>
    public string InterfaceName { get; }

    /// <summary>The errno value; 0 when the error did not come from the kernel.</summary>
    public int Errno { get; }

    /// <summary>The errno's symbolic name, e.g. "EPERM".</summary>
    public string ErrnoName => Interop.Libc.ErrnoName(Errno);

    /// <summary>EPERM/EACCES: the caller lacks CAP_NET_ADMIN in the interface's network namespace.</summary>
    public bool IsPermissionDenied => Errno is Interop.Libc.EPERM or Interop.Libc.EACCES;

    /// <summary>EOPNOTSUPP: the device does not implement the operation or a value in it.</summary>
    public bool IsNotSupported => Errno == Interop.Libc.EOPNOTSUPP;

    /// <summary>EINVAL: the device or the kernel rejected a value (ring above maximum, a feature that never changes).</summary>
    public bool IsInvalidArgument => Errno == Interop.Libc.EINVAL;

    /// <summary>ENODEV: no interface of that name in this network namespace.</summary>
    public bool IsNoSuchInterface => Errno == Interop.Libc.ENODEV;

    private static string Describe(string command, string interfaceName, int errno)
    {
        string reason = errno switch
        {
            Interop.Libc.EPERM or Interop.Libc.EACCES => "permission denied: changing NIC settings needs CAP_NET_ADMIN",
            Interop.Libc.ENODEV => "no such interface",
            Interop.Libc.EOPNOTSUPP => "not supported by the device",
            Interop.Libc.EINVAL => "invalid argument: the device rejected a value (out of range, or a feature that never changes)",
            Interop.Libc.ERANGE => "value out of the device's range",
            Interop.Libc.EBUSY => "device busy",
            _ => "failed",
        };
        return $"{command} on '{interfaceName}': {Interop.Libc.ErrnoName(errno)} ({reason})";
    }
}
