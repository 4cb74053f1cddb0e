using DataPlane.Topology.Model;

namespace DataPlane.Topology.Sysfs;

/// <summary>Classifies the PCIe path between two devices the way NCCL and <c>nvidia-smi topo -m</c> name it.</summary>
public static class PciPath
{
    /// <summary>The path level between <paramref name="a"/> and <paramref name="b"/>:
    /// <list type="bullet">
    /// <item>PIX when at most one bridge lies on the path between them (siblings below one bridge);</item>
    /// <item>PXB when several bridges do, their closest common ancestor being a bridge below the host bridge;</item>
    /// <item>PHB when the common ancestor is the host bridge itself;</item>
    /// <item>NODE when the host bridges differ but the NUMA node is the same;</item>
    /// <item>SYS otherwise.</item>
    /// </list>
    /// Every bridge is counted, switch ports included: two devices on different downstream ports of one switch cross the
    /// two downstream ports and the upstream port, which is PXB, as NCCL's path search counts it.</summary>
    /// <param name="a">One device's chain.</param>
    /// <param name="b">The other's.</param>
    /// <param name="singleNumaNode">True when the host has at most one NUMA node, so devices whose <c>numa_node</c> is
    /// unknown (-1, common on one-socket machines) are still on the same node.</param>
    public static PathLevel Classify(PciChain a, PciChain b, bool singleNumaNode = false)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!string.Equals(a.HostBridge, b.HostBridge, StringComparison.Ordinal))
        {
            bool sameNode = a.NumaNode is int na && b.NumaNode is int nb ? na == nb : singleNumaNode;
            return sameNode ? PathLevel.Node : PathLevel.Sys;
        }

        int common = 0;
        while (common < a.Path.Count && common < b.Path.Count && a.Path[common] == b.Path[common])
        {
            common++;
        }

        if (common == a.Path.Count && common == b.Path.Count)
        {
            return PathLevel.Self;
        }

        if (common == 0)
        {
            return PathLevel.Phb;
        }

        // Bridges strictly between each device and the common ancestor, plus the ancestor itself unless it is one of the
        // two devices (a device below a bridge that is the other endpoint).
        int belowA = Math.Max(0, a.Path.Count - 1 - common);
        int belowB = Math.Max(0, b.Path.Count - 1 - common);
        bool ancestorIsEndpoint = common == a.Path.Count || common == b.Path.Count;
        int bridges = belowA + belowB + (ancestorIsEndpoint ? 0 : 1);
        return bridges <= 1 ? PathLevel.Pix : PathLevel.Pxb;
    }
}
