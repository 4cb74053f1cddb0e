namespace DataPlane.Interop.Ethtool;

/// <summary>One offload feature as ETHTOOL_GFEATURES reports it, named by the kernel's ETH_SS_FEATURES string set.</summary>
/// <param name="Name">The kernel's name, e.g. "rx-gro", "tx-tcp-segmentation".</param>
/// <param name="Index">Its bit index on this kernel (indexes change between kernels; resolve by name).</param>
/// <param name="Available">The driver lets user space change it (hw_features).</param>
/// <param name="Requested">What user space asked for last (wanted_features).</param>
/// <param name="Active">What is in effect now.</param>
/// <param name="NeverChanged">The kernel never lets it change (NETIF_F_NEVER_CHANGE).</param>
public readonly record struct EthtoolFeature(string Name, int Index, bool Available, bool Requested, bool Active, bool NeverChanged)
{
    /// <summary>Cannot be changed: not available or never changed (what <c>ethtool -k</c> prints as "[fixed]").</summary>
    public bool Fixed => !Available || NeverChanged;
}

/// <summary>What ETHTOOL_SFEATURES reported about a change (its non-negative return bits).</summary>
[Flags]
public enum EthtoolFeatureChange
{
    /// <summary>Every requested change is now active.</summary>
    Done = 0,

    /// <summary>ETHTOOL_F_UNSUPPORTED: some features were not changeable and were ignored.</summary>
    Unsupported = 1 << 0,

    /// <summary>ETHTOOL_F_WISH: the request was recorded, but the active features differ from it
    /// (a dependency is missing; it may become active later).</summary>
    Wish = 1 << 1,

    /// <summary>ETHTOOL_F_COMPAT: the change went through the driver's legacy per-feature operations.</summary>
    Compat = 1 << 2,
}

/// <summary>Outcome of a coalesce or ring SET.</summary>
public enum EthtoolSetResult
{
    /// <summary>The kernel accepted the new values.</summary>
    Applied,

    /// <summary>EOPNOTSUPP: the device does not implement the operation, or a non-zero field it does not support was set.</summary>
    NotSupported,
}

/// <summary>ETHTOOL_GDRVINFO: the driver's name and version and the device's bus address.</summary>
/// <param name="Driver">Driver name, e.g. "mlx5_core", "veth".</param>
/// <param name="Version">Driver version (often the kernel version).</param>
/// <param name="FirmwareVersion">Firmware version, empty when none.</param>
/// <param name="BusInfo">Bus address: the PCI BDF ("0000:18:00.0") for PCI devices, empty for virtual ones.</param>
public sealed record EthtoolDriverInfo(string Driver, string Version, string FirmwareVersion, string BusInfo);
