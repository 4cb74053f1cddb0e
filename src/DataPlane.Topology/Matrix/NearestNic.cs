using DataPlane.Topology.Model;

namespace DataPlane.Topology.Matrix;

/// <summary>The NIC a GPU should use: the closest by PCIe path level.</summary>
/// <param name="Gpu">GPU index.</param>
/// <param name="Nic">The NIC's display name (its RDMA device, else the interface), as in the NIC legend.</param>
/// <param name="NetDevice">The NIC's interface name.</param>
/// <param name="NicIndex">Its column in the matrix (<c>NIC&lt;n&gt;</c>).</param>
/// <param name="Level">The path level between them.</param>
/// <param name="NumaLocal">The NIC is on the GPU's NUMA node.</param>
public sealed record NearestNic(int Gpu, string Nic, string NetDevice, int NicIndex, PathLevel Level, bool NumaLocal);
