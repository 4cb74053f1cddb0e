using System.Diagnostics;
using DataPlane.Interop.Verbs;
using DataPlane.Testing;

namespace DataPlane.Interop.Tests.Verbs;

/// <summary>Two RC queue pairs on the fake device, each with its own completion queue and a registered 64 KiB buffer,
/// optionally connected to each other (RESET→INIT→RTR→RTS) the way a transfer engine does after its handshake.</summary>
internal sealed class VerbsRig : IDisposable
{
    public const int BufferSize = 64 * 1024;
    public const int RoceV2GidIndex = 2; // ::ffff:127.0.0.1 in the fake's default table

    private readonly byte[] _bufferA = GC.AllocateArray<byte>(BufferSize, pinned: true);
    private readonly byte[] _bufferB = GC.AllocateArray<byte>(BufferSize, pinned: true);

    public VerbsRig(bool connect = true, CompletionChannel? channel = null, byte rnrRetry = 7, bool signalAll = false)
    {
        Library = Open();
        Context = Library.OpenDevice("fake_mlx5_0");
        Pd = Context.AllocateProtectionDomain();
        Channel = channel ?? Context.CreateCompletionChannel();
        CqA = Context.CreateCompletionQueue(64, Channel);
        CqB = Context.CreateCompletionQueue(64, Channel);
        var access = MemoryAccess.LocalWrite | MemoryAccess.RemoteWrite | MemoryAccess.RemoteRead;
        MrA = Pd.Register(_bufferA, access);
        MrB = Pd.Register(_bufferB, access);
        var caps = new QueuePairCapabilities(MaxSendWr: 32, MaxRecvWr: 32);
        QpA = Pd.CreateQueuePair(CqA, CqA, caps, signalAll);
        QpB = Pd.CreateQueuePair(CqB, CqB, caps, signalAll);
        Gid = Context.QueryPort(1).Gids.Single(g => g.Index == RoceV2GidIndex).Gid;
        if (connect)
        {
            Connect(rnrRetry);
        }
    }

    public VerbsLibrary Library { get; }

    public VerbsContext Context { get; }

    public ProtectionDomain Pd { get; }

    public CompletionChannel Channel { get; }

    public CompletionQueue CqA { get; }

    public CompletionQueue CqB { get; }

    public MemoryRegion MrA { get; }

    public MemoryRegion MrB { get; }

    public QueuePair QpA { get; }

    public QueuePair QpB { get; }

    public VerbsGid Gid { get; }

    public Span<byte> A => _bufferA;

    public Span<byte> B => _bufferB;

    public static VerbsLibrary Open()
    {
        Assert.True(VerbsLibrary.TryOpen(FakeVerbs.LibraryPath, out var library, out string problem), problem);
        return library;
    }

    public void Connect(byte rnrRetry = 7, uint psnA = 0x1234, uint psnB = 0xABCDE)
    {
        var remoteRights = MemoryAccess.RemoteWrite | MemoryAccess.RemoteRead;
        QpA.ToInit(1, remoteRights);
        QpB.ToInit(1, remoteRights);
        QpA.ToRtr(new RtrParameters(QpB.QpNumber, psnB, Gid, RoceV2GidIndex) { Mtu = Mtu.Mtu4096 });
        QpB.ToRtr(new RtrParameters(QpA.QpNumber, psnA, Gid, RoceV2GidIndex) { Mtu = Mtu.Mtu4096 });
        QpA.ToRts(psnA, rnrRetry: rnrRetry);
        QpB.ToRts(psnB, rnrRetry: rnrRetry);
    }

    /// <summary>Polls until <paramref name="count"/> completions arrived (the fake completes on its own threads).</summary>
    public static WorkCompletion[] Wait(CompletionQueue cq, int count)
    {
        var got = new List<WorkCompletion>();
        Span<WorkCompletion> batch = stackalloc WorkCompletion[16];
        var clock = Stopwatch.StartNew();
        while (got.Count < count && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            int n = cq.Poll(batch[..Math.Min(batch.Length, count - got.Count)]);
            for (int i = 0; i < n; i++)
            {
                got.Add(batch[i]);
            }

            if (n == 0)
            {
                Thread.Sleep(1);
            }
        }

        Assert.True(got.Count == count, $"expected {count} completions, got {got.Count}: {string.Join(", ", got)}");
        return [.. got];
    }

    /// <summary>Asserts nothing more arrives for a short while.</summary>
    public static void AssertEmpty(CompletionQueue cq)
    {
        Thread.Sleep(50);
        Span<WorkCompletion> one = stackalloc WorkCompletion[1];
        Assert.Equal(0, cq.Poll(one));
    }

    public void Dispose()
    {
        QpA.Dispose();
        QpB.Dispose();
        MrA.Dispose();
        MrB.Dispose();
        CqA.Dispose();
        CqB.Dispose();
        Channel.Dispose();
        Pd.Dispose();
        Context.Dispose();
    }
}
