using System.Security.Cryptography;

namespace DataPlane.Transfer.Handshake;

/// <summary>Values both sides of an RC connection derive from the two handshake messages.</summary>
public static class HandshakeNegotiation
{
    /// <summary>A random initial packet sequence number (24 bits), as rc_pingpong's <c>lrand48() &amp; 0xffffff</c>:
    /// a fresh PSN per (re-)handshake keeps stale packets of an earlier QP incarnation from being accepted.</summary>
    public static uint RandomPacketSequenceNumber() => (uint)RandomNumberGenerator.GetInt32(0, 1 << 24);

    /// <summary>The path MTU (<c>enum ibv_mtu</c>) to use: the smaller of both ports' active MTU and the
    /// configured cap. A mismatch is a classic cause of RTR failures or silent drops.</summary>
    public static byte PathMtu(byte local, byte peer, byte cap = 5)
    {
        if (local is < 1 or > 5 || peer is < 1 or > 5 || cap is < 1 or > 5)
        {
            throw new ArgumentOutOfRangeException(nameof(local), "ibv_mtu values run from 1 (256) to 5 (4096)");
        }

        return Math.Min(Math.Min(local, peer), cap);
    }

    /// <summary>Bytes of an <c>enum ibv_mtu</c> value: 1 → 256 … 5 → 4096.</summary>
    public static int MtuBytes(byte mtu) => mtu is >= 1 and <= 5
        ? 128 << mtu
        : throw new ArgumentOutOfRangeException(nameof(mtu), mtu, "ibv_mtu values run from 1 (256) to 5 (4096)");

    /// <summary>The largest <c>enum ibv_mtu</c> that fits in <paramref name="bytes"/> (a netdev MTU of 1500 gives
    /// 3 = 1024, 9000 gives 5 = 4096).</summary>
    public static byte MtuFromBytes(int bytes)
    {
        for (byte mtu = 5; mtu >= 1; mtu--)
        {
            if (MtuBytes(mtu) <= bytes)
            {
                return mtu;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "smaller than the 256-byte minimum path MTU");
    }
}
