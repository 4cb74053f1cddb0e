namespace DataPlane.Interop.Tests.Ethtool;

/// <summary>native/layout/ethtool_layout.c, compiled against the installed kernel headers.</summary>
internal static class EthtoolNativeLayout
{
    private static readonly NativeLayout s_layout = new("ethtool_layout.c");

    public static long Value(string name) => s_layout.Value(name);
}
