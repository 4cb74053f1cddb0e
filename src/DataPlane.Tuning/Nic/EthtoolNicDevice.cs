using DataPlane.Interop.Ethtool;

namespace DataPlane.Tuning.Nic;

/// <summary><see cref="INicDevice"/> over the real SIOCETHTOOL binding.</summary>
internal sealed class EthtoolNicDevice : INicDevice
{
    private readonly EthtoolDevice _device;

    private EthtoolNicDevice(EthtoolDevice device) => _device = device;

    public string Name => _device.InterfaceName;

    public static INicDevice Open(string interfaceName) => new EthtoolNicDevice(EthtoolDevice.Open(interfaceName));

    public bool TryGetCoalesce(out EthtoolCoalesce coalesce) => _device.TryGetCoalesce(out coalesce);

    public EthtoolSetResult SetCoalesce(in EthtoolCoalesce coalesce) => _device.SetCoalesce(coalesce);

    public bool TryGetRing(out EthtoolRing ring) => _device.TryGetRing(out ring);

    public EthtoolSetResult SetRing(in EthtoolRing ring) => _device.SetRing(ring);

    public IReadOnlyList<EthtoolFeature> GetFeatures() => _device.GetFeatures();

    public EthtoolFeatureChange SetFeatures(IReadOnlyDictionary<string, bool> changes) => _device.SetFeatures(changes);

    public void Dispose() => _device.Dispose();
}
