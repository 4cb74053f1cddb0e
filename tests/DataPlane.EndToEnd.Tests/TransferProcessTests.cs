using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Messaging;
using DataPlane.Transfer.Security;
using DataPlane.Transfer.Tcp;
using Google.Protobuf;
using Xunit.Abstractions;

namespace DataPlane.EndToEnd.Tests;

/// <summary><c>dataplane xfer-bench</c> and spillover as real processes: over TCP on loopback (mutual TLS, data
/// encrypted or in clear), and over RDMA through the fake <c>libibverbs.so.1</c> (each process loads it; queue pairs of
/// the two processes talk over its loopback). This test process plays a spill peer of a real daemon for the attacks:
/// refused peers, and a peer that announces huge messages.</summary>
public sealed class TransferProcessTests : IDisposable
{
    private readonly PeerPki _pki = PeerPki.Create();
    private readonly PeerIdentity _gpuA;
    private readonly PeerIdentity _gpuB;
    private readonly ITestOutputHelper _output;

    public TransferProcessTests(ITestOutputHelper output)
    {
        _output = output;
        _gpuA = _pki.Issue("gpu-a.test");
        _gpuB = _pki.Issue("gpu-b.test");
    }

    public void Dispose() => _pki.Dispose();

    [Theory]
    [InlineData("plain", "none")]
    [InlineData("tls", "encrypted")]
    [InlineData("none", "authenticated")]
    public async Task Xfer_bench_server_and_client_measure_bandwidth_and_latency_and_write_json(string mode, string protection)
    {
        int port = Binaries.FreePort();
        string json = Path.Combine(_pki.Directory, "xfer.json");
        string[] serverTls = mode == "plain" ? [] : [.. Files(_gpuA), "--encryption", mode];
        string[] clientTls = mode == "plain" ? [] : [.. Files(_gpuB), "--encryption", mode];
        string target = mode == "plain" ? $"127.0.0.1:{port}" : $"gpu-a.test@127.0.0.1:{port}";
        using var server = new ChildProcess(Binaries.Dataplane, ["xfer-bench", "--server", "--listen", $"127.0.0.1:{port}", "--once", "--region", "1M", .. serverTls]);
        await server.WaitForOutputAsync("listening", TimeSpan.FromSeconds(30));
        using var client = new ChildProcess(Binaries.Dataplane, ["xfer-bench", "--connect", target, "--transport", "tcp",
            "--sizes", "4K,64K", "--iterations", "50", "--lat-sizes", "8", "--lat-iterations", "50", "--json", json, .. clientTls]);

        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Matches(@"write\s+65536\s+50\s", client.Output);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        Assert.Equal("tcp", doc.RootElement.GetProperty("transport").GetString());
        Assert.Equal(protection, doc.RootElement.GetProperty("protection").GetString());
    }

    [Fact]
    public async Task Xfer_bench_runs_over_rdma_between_two_processes_through_the_fake_verbs_library()
    {
        int port = Binaries.FreePort();
        string json = Path.Combine(Path.GetTempPath(), $"dataplane-xfer-rdma-{Environment.ProcessId}.json");
        try
        {
            // Mutual TLS on the control connection; the RDMA payloads themselves are not encrypted ("authenticated").
            using var server = new ChildProcess(Binaries.Dataplane, ["xfer-bench", "--server", "--listen", $"127.0.0.1:{port}", "--once", "--region", "1M",
                "--transport", "rdma", "--rdma-library", FakeVerbs.LibraryPath, .. Files(_gpuA)]);
            await server.WaitForOutputAsync("listening", TimeSpan.FromSeconds(30));
            Assert.Contains("over rdma", server.Output);
            using var client = new ChildProcess(Binaries.Dataplane, ["xfer-bench", "--connect", $"gpu-a.test@127.0.0.1:{port}", "--transport", "rdma",
                "--rdma-library", FakeVerbs.LibraryPath, "--sizes", "4K,256K", "--iterations", "40", "--lat-sizes", "8", "--lat-iterations", "40",
                "--dscp", "26", "--json", json, .. Files(_gpuB)]);

            Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Matches(@"read\s+262144\s+40\s", client.Output);
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            Assert.Equal("rdma", doc.RootElement.GetProperty("transport").GetString());
            Assert.Equal("authenticated", doc.RootElement.GetProperty("protection").GetString());
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task Two_daemons_spill_batches_over_rdma_and_every_client_gets_its_answer()
    {
        int peerTransfer = Binaries.FreePort(), peerGrpc = Binaries.FreePort(), peerAdmin = Binaries.FreePort();
        int grpc = Binaries.FreePort(), admin = Binaries.FreePort();
        string[] rdma = ["--Transfer:Transport=rdma", $"--Transfer:Rdma:LibraryPath={FakeVerbs.LibraryPath}"];
        using var peer = new ChildProcess(Binaries.Dataplane, ["serve", "--grpc", $"127.0.0.1:{peerGrpc}", "--admin", $"127.0.0.1:{peerAdmin}", "--http", "127.0.0.1:0",
            $"--Transfer:Listen=127.0.0.1:{peerTransfer}", "--Transfer:AllowedPeers:0=gpu-b.test", .. Tls(_gpuA), .. rdma]);
        await peer.WaitForHttpAsync($"http://127.0.0.1:{peerAdmin}/readyz", TimeSpan.FromSeconds(30));
        // The origin's simulated `simple` model has one instance: with no pipelining and a threshold of 2, a burst spills.
        using var origin = new ChildProcess(Binaries.Dataplane, ["serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0",
            $"--Transfer:Peers:0=gpu-a.test@127.0.0.1:{peerTransfer}", "--Batching:Models:simple:SpillQueueThreshold=2",
            "--Batching:Models:simple:PipelineDepth=0", "--Batching:Models:simple:MaxBatchSize=4", .. Tls(_gpuB), .. rdma]);
        await origin.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{grpc}");
        var client = new DataPlane.Protocol.Inference.GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var calls = Enumerable.Range(0, 64).Select(async i =>
        {
            var response = await client.ModelInferAsync(SimpleRequest(i), deadline: DateTime.UtcNow.AddSeconds(60));
            return (i, response);
        });
        foreach (var (i, response) in await Task.WhenAll(calls))
        {
            Assert.Equal($"r{i}", response.Id);
            // The simulated model's output is a known transform of its own input: each client got its own row back.
            Assert.Equal(DataPlane.Simulation.SimulatedTransform.Apply(DataPlane.Protocol.Tensors.TensorDataType.Fp32, SimpleInput(i)),
                response.RawOutputContents[0].ToByteArray());
        }

        using var http = new HttpClient();
        string metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{admin}/metrics"));
        Assert.Matches(@"dataplane_spilled_batches_total{model=""simple"",peer=""gpu-a\.test""} [1-9]", metrics);
        Assert.Contains("transport=\"rdma\"", metrics);
        Assert.Contains("over rdma", origin.Output + peer.Output);
    }

    [Fact]
    public async Task A_transfer_listener_without_certificates_refuses_to_start_naming_the_keys()
    {
        using var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--grpc", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--http", "127.0.0.1:0",
            $"--Transfer:Listen=127.0.0.1:{Binaries.FreePort()}", "--Transfer:AllowedPeers:0=gpu-b.test");

        Assert.Equal(2, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Transfer:Tls:Certificate, Transfer:Tls:Key, Transfer:Tls:ClientCa: required", daemon.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", daemon.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_transfer_listener_refuses_plaintext_foreign_and_unlisted_peers_and_serves_the_listed_one()
    {
        await using var daemon = await SpillListenerAsync();
        var intruder = _pki.Issue("gpu-b.test", foreign: true);
        var stranger = _pki.Issue("gpu-c.test");
        await using var transport = new TcpTransport();

        // A process that merely reaches the port: plaintext, a certificate from another CA, a valid one of another name.
        await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(daemon.Transfer, new ConnectionSettings { LocalName = "gpu-b.test" }));
        await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(daemon.Transfer, PeerSettings(intruder)));
        await Assert.ThrowsAsync<TransferException>(() => transport.ConnectAsync(daemon.Transfer, PeerSettings(stranger)));
        // The listed peer gets real answers.
        await using (var channel = new RpcChannel(await transport.ConnectAsync(daemon.Transfer, PeerSettings(_gpuB))))
        {
            var answer = DataPlane.Protocol.Inference.ModelInferResponse.Parser.ParseFrom(await channel.CallAsync(1, SpillRequest(7)).WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal("r7", answer.Id);
            Assert.Equal(DataPlane.Simulation.SimulatedTransform.Apply(DataPlane.Protocol.Tensors.TensorDataType.Fp32, SimpleInput(7)),
                answer.RawOutputContents[0].ToByteArray());
        }

        string metrics = await daemon.MetricsAsync();
        foreach (string reason in (string[])["plaintext", "untrusted_certificate", "peer_not_allowed"])
        {
            Assert.Contains($"dataplane_transfer_auth_failures_total{{direction=\"in\",reason=\"{reason}\"}} 1", metrics, StringComparison.Ordinal);
        }

        await daemon.Process.WaitForOutputAsync("(peer_not_allowed)", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Fragments_announcing_huge_messages_leave_the_daemon_rss_within_50_mb()
    {
        await using var daemon = await SpillListenerAsync();
        await using var transport = new TcpTransport();
        // Warm up the paths the attack uses (TLS, the RPC channel, the spill handler), then take the baseline.
        await using (var channel = new RpcChannel(await transport.ConnectAsync(daemon.Transfer, PeerSettings(_gpuB))))
        {
            await channel.CallAsync(1, SpillRequest(1)).WaitAsync(TimeSpan.FromSeconds(30));
        }

        long before = Rss(daemon.Process.Id);

        // The attack from the field: 204 first fragments of 72 bytes, each announcing a 256 MiB message. A connection
        // that exceeds the half-received cap is closed; the attacker reconnects and goes on.
        int sent = 0, connections = 0;
        while (sent < 204)
        {
            var connection = await transport.ConnectAsync(daemon.Transfer, PeerSettings(_gpuB));
            connections++;
            await using (connection)
            {
                try
                {
                    for (; sent < 204; sent++)
                    {
                        await connection.SendAsync(FirstFragment((ulong)sent + 1)).WaitAsync(TimeSpan.FromSeconds(30));
                    }
                }
                catch (TransferException)
                {
                    // Closed by the daemon: this frame goes again on the next connection.
                }

                if (sent < 204)
                {
                    await connection.Completion.WaitAsync(TimeSpan.FromSeconds(30));
                }
            }
        }

        long after = Rss(daemon.Process.Id);
        _output.WriteLine($"daemon VmRSS {before >> 10} KiB before, {after >> 10} KiB after 204 fragments over {connections} connections");
        Assert.True(after - before < 50L << 20, $"RSS grew from {before >> 20} MiB to {after >> 20} MiB");
        Assert.True(connections > 1, "the daemon never closed the attacking connection");
        string metrics = await daemon.MetricsAsync();
        var violations = Regex.Match(metrics, @"dataplane_transfer_rpc_limit_violations_total\{reason=""partial_messages""\} (\d+)");
        Assert.True(violations.Success, metrics);
        // Every connection but perhaps the last (which may have sent its share before reaching the cap) was closed.
        Assert.InRange(int.Parse(violations.Groups[1].Value, CultureInfo.InvariantCulture), connections - 1, connections);
        // Still serving.
        await using var again = new RpcChannel(await transport.ConnectAsync(daemon.Transfer, PeerSettings(_gpuB)));
        Assert.Equal("r2", DataPlane.Protocol.Inference.ModelInferResponse.Parser.ParseFrom(
            await again.CallAsync(1, SpillRequest(2)).WaitAsync(TimeSpan.FromSeconds(30))).Id);
    }

    private static long Rss(int pid)
    {
        string line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>A 72-byte first fragment of RPC request <paramref name="id"/> (method 1, the spill call) announcing 256 MiB.</summary>
    private static byte[] FirstFragment(ulong id)
    {
        byte[] frame = new byte[72];
        BinaryPrimitives.WriteUInt32BigEndian(frame, 0x44505250); // "DPRP"
        frame[4] = 1;
        frame[5] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(6), 1);
        BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(8), id);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(16), 256 << 20);
        return frame;
    }

    /// <summary>The spill call's request: [8-byte deadline, 0 = none][ModelInferRequest].</summary>
    private static byte[] SpillRequest(int value)
    {
        var request = SimpleRequest(value);
        byte[] bytes = new byte[8 + request.CalculateSize()];
        request.WriteTo(bytes.AsSpan(8));
        return bytes;
    }

    private ConnectionSettings PeerSettings(PeerIdentity identity) => new()
    {
        Security = new TransferSecurity(() => identity.Certificate, () => _pki.Ca),
        LocalName = identity.Name,
        ExpectedPeerName = "gpu-a.test",
        MaxMessageBytes = 1 << 20,
    };

    private string[] Files(PeerIdentity identity) => ["--cert", identity.CertificatePath, "--key", identity.KeyPath, "--ca", _pki.CaPath];

    private string[] Tls(PeerIdentity identity) =>
        [$"--Transfer:Tls:Certificate={identity.CertificatePath}", $"--Transfer:Tls:Key={identity.KeyPath}", $"--Transfer:Tls:ClientCa={_pki.CaPath}"];

    /// <summary>A daemon (gpu-a.test) whose transfer listener lets gpu-b.test spill to it.</summary>
    private async Task<SpillListener> SpillListenerAsync()
    {
        int transfer = Binaries.FreePort(), admin = Binaries.FreePort();
        var process = new ChildProcess(Binaries.Dataplane, ["serve", "--grpc", "127.0.0.1:0", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0",
            $"--Transfer:Listen=127.0.0.1:{transfer}", "--Transfer:Transport=tcp", "--Transfer:AllowedPeers:0=gpu-b.test", .. Tls(_gpuA)]);
        try
        {
            await process.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));
        }
        catch
        {
            process.Dispose();
            throw;
        }

        return new SpillListener(process, new IPEndPoint(IPAddress.Loopback, transfer), admin);
    }

    private sealed class SpillListener(ChildProcess process, IPEndPoint transfer, int admin) : IAsyncDisposable
    {
        private readonly HttpClient _http = new();

        public ChildProcess Process { get; } = process;

        public IPEndPoint Transfer { get; } = transfer;

        public Task<string> MetricsAsync() => _http.GetStringAsync(new Uri($"http://127.0.0.1:{admin}/metrics"));

        public ValueTask DisposeAsync()
        {
            _http.Dispose();
            Process.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private static byte[] SimpleInput(int value)
    {
        byte[] raw = new byte[16 * 4];
        for (int k = 0; k < 16; k++)
        {
            BitConverter.TryWriteBytes(raw.AsSpan(k * 4), (float)(value + k));
        }

        return raw;
    }

    private static DataPlane.Protocol.Inference.ModelInferRequest SimpleRequest(int value)
    {
        var request = new DataPlane.Protocol.Inference.ModelInferRequest { ModelName = "simple", Id = $"r{value}" };
        var input = new DataPlane.Protocol.Inference.ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "FP32" };
        input.Shape.Add([1, 16]);
        request.Inputs.Add(input);
        request.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(SimpleInput(value)));
        return request;
    }

    [Fact]
    public async Task Xfer_bench_names_a_bad_argument_and_exits_2()
    {
        using var bench = new ChildProcess(Binaries.Dataplane, "xfer-bench", "--connect", "127.0.0.1:1", "--sizes", "huge");
        Assert.Equal(2, await bench.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--sizes", bench.Output);
    }
}
