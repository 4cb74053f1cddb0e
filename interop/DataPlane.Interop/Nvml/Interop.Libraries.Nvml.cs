namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Nvml
    {
        /// <summary>The NVIDIA driver's management library, by versioned soname: the unversioned
        /// <c>libnvidia-ml.so</c> exists only where the CUDA toolkit's development stub is installed.
        /// It is loaded at run time with <see cref="System.Runtime.InteropServices.NativeLibrary.TryLoad(string, out nint)"/>,
        /// never bound at start-up, so hosts without a driver still start.</summary>
        internal const string LibraryName = "libnvidia-ml.so.1";
    }
}
