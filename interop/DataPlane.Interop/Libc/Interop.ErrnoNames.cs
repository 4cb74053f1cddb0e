namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // asm-generic/errno-base.h and errno.h values; identical on x86_64 and aarch64.
        internal const int EPERM = 1;
        internal const int ENOENT = 2;
        internal const int EIO = 5;
        internal const int E2BIG = 7;
        internal const int EBADF = 9;
        internal const int ENOMEM = 12;
        internal const int EACCES = 13;
        internal const int EFAULT = 14;
        internal const int EBUSY = 16;
        internal const int ENODEV = 19;
        internal const int EINVAL = 22;
        internal const int ENOTTY = 25;
        internal const int ERANGE = 34;
        internal const int EOPNOTSUPP = 95;

        /// <summary>The symbolic name of an errno value ("EPERM"), or "errno N" for one not listed.</summary>
        internal static string ErrnoName(int errno) => errno switch
        {
            EPERM => nameof(EPERM),
            ENOENT => nameof(ENOENT),
            EINTR => nameof(EINTR),
            EIO => nameof(EIO),
            E2BIG => nameof(E2BIG),
            EBADF => nameof(EBADF),
            EAGAIN => nameof(EAGAIN),
            ENOMEM => nameof(ENOMEM),
            EACCES => nameof(EACCES),
            EFAULT => nameof(EFAULT),
            EBUSY => nameof(EBUSY),
            ENODEV => nameof(ENODEV),
            EINVAL => nameof(EINVAL),
            ENOTTY => nameof(ENOTTY),
            ERANGE => nameof(ERANGE),
            EOPNOTSUPP => nameof(EOPNOTSUPP),
            _ => "errno " + errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
