using DataPlane.Interop.Ethtool;

namespace DataPlane.Tuning.Nic;

/// <summary>The ethtool operations <see cref="NicTuner"/> needs on one netdev: the seam between the tuner's logic and the
/// kernel. The real implementation forwards to <see cref="EthtoolDevice"/>; tests use a fake that answers as the kernel
/// and a driver would. Contract (that of <see cref="EthtoolDevice"/>): EOPNOTSUPP is a value (<c>Try…</c> false,
/// <see cref="EthtoolSetResult.NotSupported"/>); any other kernel error is an <see cref="EthtoolException"/>.</summary>
public interface INicDevice : IDisposable
{
    /// <summary>The interface name.</summary>
    string Name { get; }

    /// <summary>ETHTOOL_GCOALESCE; false when the device has no coalescing.</summary>
    bool TryGetCoalesce(out EthtoolCoalesce coalesce);

    /// <summary>ETHTOOL_SCOALESCE with the whole structure.</summary>
    EthtoolSetResult SetCoalesce(in EthtoolCoalesce coalesce);

    /// <summary>ETHTOOL_GRINGPARAM; false when the device does not report rings.</summary>
    bool TryGetRing(out EthtoolRing ring);

    /// <summary>ETHTOOL_SRINGPARAM with the whole structure (EINVAL above a maximum).</summary>
    EthtoolSetResult SetRing(in EthtoolRing ring);

    /// <summary>All named features and their state.</summary>
    IReadOnlyList<EthtoolFeature> GetFeatures();

    /// <summary>ETHTOOL_SFEATURES by name; the kernel's outcome bits.</summary>
    EthtoolFeatureChange SetFeatures(IReadOnlyDictionary<string, bool> changes);
}
