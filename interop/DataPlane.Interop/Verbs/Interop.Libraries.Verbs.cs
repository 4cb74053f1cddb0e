namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Verbs
    {
        /// <summary>rdma-core's verbs library, by versioned soname: the unversioned <c>libibverbs.so</c> ships only in
        /// libibverbs-dev. It is loaded at run time with <see cref="System.Runtime.InteropServices.NativeLibrary.TryLoad(string, out nint)"/>,
        /// never bound at start-up, so hosts without rdma-core still start.</summary>
        internal const string LibraryName = "libibverbs.so.1";
    }
}
