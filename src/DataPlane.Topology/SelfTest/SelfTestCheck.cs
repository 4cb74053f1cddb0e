using System.Text.Json.Serialization;

namespace DataPlane.Topology.SelfTest;

/// <summary>One comparison of the self-test: what DataPlane's discovery says next to what a tool printed.</summary>
/// <param name="Section">"topo" (<c>nvidia-smi topo -m</c>), "gpus" (<c>nvidia-smi -q -x</c>), "nvlink"
/// (<c>nvidia-smi nvlink -s</c>) or "rdma" (<c>ibv_devinfo -v</c>).</param>
/// <param name="Name">What is compared, e.g. "GPU0/NIC1 (mlx5_1)" or "mlx5_0 port 1 state".</param>
/// <param name="Ours">DataPlane's value ("absent" when it has no such device).</param>
/// <param name="Theirs">The tool's value ("absent" when the tool does not list the device).</param>
/// <param name="Ok">They agree.</param>
public sealed record SelfTestCheck(
    [property: JsonPropertyName("section")] string Section,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("ours")] string Ours,
    [property: JsonPropertyName("theirs")] string Theirs,
    [property: JsonPropertyName("ok")] bool Ok)
{
    /// <summary>The value a side gives for a device it does not have.</summary>
    public const string Absent = "absent";
}
