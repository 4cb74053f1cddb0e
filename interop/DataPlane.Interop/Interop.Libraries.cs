namespace DataPlane.Interop;

/// <summary>Native library names, in one place. Versioned sonames so that a
/// development symlink or a linker script is never picked up by mistake.</summary>
internal static partial class Interop
{
    internal static class Libraries
    {
        /// <summary>glibc on Debian, Ubuntu and Raspberry Pi OS (x86_64 and aarch64).
        /// "libc.so" is a linker script on systems with libc6-dev, so the soname is used.</summary>
        internal const string Libc = "libc.so.6";
    }
}
