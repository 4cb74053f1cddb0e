using System.Diagnostics;
using System.Globalization;
using DataPlane.Interop.Verbs;
using DataPlane.Testing;

namespace DataPlane.Interop.Tests.Verbs;

/// <summary>RC between this process and a second one (native/fake_verbs/verbs_peer.c, linked against the fake and
/// calling the inline verbs.h data path): WRITE, READ and SEND in both directions across the process boundary.</summary>
[Collection(FakeVerbs.Collection)]
public class VerbsCrossProcessTests
{
    [Fact]
    public void Writes_reads_and_sends_cross_to_another_process()
    {
        using var scope = FakeVerbs.Use();
        var psi = new ProcessStartInfo(FakeVerbs.PeerPath) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment.Remove("DATAPLANE_FAKE_VERBS_DEVICES");
        using var peer = Process.Start(psi)!;
        try
        {
            string[] ready = ReadLine(peer, "READY");
            uint peerQpn = uint.Parse(ready[1], CultureInfo.InvariantCulture);
            uint peerPsn = uint.Parse(ready[2], CultureInfo.InvariantCulture);
            var peerGid = new VerbsGid(Convert.FromHexString(ready[3]));
            ulong peerAddr = ulong.Parse(ready[4], CultureInfo.InvariantCulture);
            uint peerRkey = uint.Parse(ready[5], CultureInfo.InvariantCulture);

            var library = VerbsRig.Open();
            using var context = library.OpenDevice("fake_mlx5_0");
            using var pd = context.AllocateProtectionDomain();
            using var cq = context.CreateCompletionQueue(16);
            byte[] buffer = GC.AllocateArray<byte>(8192, pinned: true);
            using var mr = pd.Register(buffer, MemoryAccess.LocalWrite | MemoryAccess.RemoteWrite | MemoryAccess.RemoteRead);
            using var qp = pd.CreateQueuePair(cq, cq, new QueuePairCapabilities(16, 16));
            var gid = context.QueryPort(1).Gids.Single(g => g.Index == VerbsRig.RoceV2GidIndex).Gid;
            const uint psn = 0x5A5A5;
            qp.ToInit(1, MemoryAccess.RemoteWrite | MemoryAccess.RemoteRead);
            Assert.True(qp.PostRecv(50, mr.Slice(4096, 64)));
            qp.ToRtr(new RtrParameters(peerQpn, peerPsn, peerGid, VerbsRig.RoceV2GidIndex) { Mtu = Mtu.Mtu1024 });
            qp.ToRts(psn);
            peer.StandardInput.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{qp.QpNumber} {psn} {Convert.ToHexString(gid.ToArray())} {mr.Address} {mr.Rkey}"));
            peer.StandardInput.Flush();
            ReadLine(peer, "CONNECTED");

            for (int i = 0; i < 1024; i++)
            {
                buffer[i] = (byte)(i ^ 0x5C);
            }

            "ping from .NET"u8.CopyTo(buffer.AsSpan(3500));
            uint written = Fnv1a(buffer.AsSpan(0, 1024)); // before the peer's own WRITE lands on the same bytes
            Assert.Equal(3, qp.Post([
                SendRequest.Write(1, mr.Slice(0, 1024), peerAddr, peerRkey),
                SendRequest.Read(2, mr.Slice(2048, 1024), peerAddr + 2048, peerRkey),
                SendRequest.Send(3, mr.Slice(3500, 14)),
            ]));

            // The peer answers our SEND at once, so its receive completion may come before our last send completion.
            var all = VerbsRig.Wait(cq, 4);
            Assert.All(all, c => Assert.True(c.IsSuccess, c.StatusName));
            var mine = all.Where(c => c.Opcode != WorkCompletionOpcode.Receive).ToArray();
            Assert.Equal([1ul, 2ul, 3ul], mine.Select(c => c.WorkRequestId));
            for (int i = 0; i < 1024; i++)
            {
                Assert.Equal((byte)(((2048 + i) * 7) + 3), buffer[2048 + i]); // the peer's pattern
            }

            string[] recv = ReadLine(peer, "RECV");
            Assert.Equal("14", recv[1]);
            Assert.Equal(written.ToString("x8", CultureInfo.InvariantCulture), recv[2]);
            Assert.Equal("ping from .NET", string.Join(' ', recv[3..]));

            var theirs = Assert.Single(all, c => c.Opcode == WorkCompletionOpcode.Receive);
            Assert.Equal(50ul, theirs.WorkRequestId);
            Assert.Equal(WorkCompletionOpcode.Receive, theirs.Opcode);
            Assert.Equal(0x12345678u, theirs.Immediate);
            Assert.Equal(peerQpn, theirs.SourceQp);
            Assert.True("pong"u8.SequenceEqual(buffer.AsSpan(4096, 4)));
            Assert.All(buffer.AsSpan(0, 256).ToArray(), b => Assert.Equal(0xA5, b)); // the peer's WRITE

            Assert.Equal(["DONE", "0", "0"], ReadLine(peer, "DONE"));
            Assert.True(peer.WaitForExit(20_000));
            Assert.Equal(0, peer.ExitCode);
        }
        finally
        {
            if (!peer.HasExited)
            {
                peer.Kill();
            }
        }
    }

    private static string[] ReadLine(Process peer, string expected)
    {
        var read = peer.StandardOutput.ReadLineAsync();
        Assert.True(read.Wait(TimeSpan.FromSeconds(30)), $"the peer said nothing (expected {expected}); stderr: {(peer.HasExited ? peer.StandardError.ReadToEnd() : "")}");
        string line = read.Result ?? throw new InvalidOperationException($"the peer exited (expected {expected}): {peer.StandardError.ReadToEnd()}");
        string[] parts = line.Split(' ');
        Assert.True(parts[0] == expected, $"the peer said '{line}', expected {expected}");
        return parts;
    }

    private static uint Fnv1a(ReadOnlySpan<byte> bytes)
    {
        uint h = 2166136261;
        foreach (byte b in bytes)
        {
            h = (h ^ b) * 16777619;
        }

        return h;
    }
}
