namespace DataPlane.Interop.Threading;

/// <summary>Process privileges and memory locking.</summary>
public static class Privileges
{
    /// <summary>True when the effective user is root. kernel.* and vm.* sysctls and /proc/irq accept no capability
    /// short of that.</summary>
    public static bool IsRoot => Interop.Libc.Geteuid() == 0;

    /// <summary>Locks current and future pages in memory (mlockall(MCL_CURRENT | MCL_FUTURE)). Returns 0 or the errno
    /// (ENOMEM when RLIMIT_MEMLOCK is too small and CAP_IPC_LOCK is missing).</summary>
    public static int TryLockAllMemory() =>
        Interop.Libc.Mlockall(Interop.Libc.MCL_CURRENT | Interop.Libc.MCL_FUTURE) == 0 ? 0 : Interop.Libc.LastErrno;
}
