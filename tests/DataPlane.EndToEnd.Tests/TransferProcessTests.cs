using System.Text.Json;

namespace DataPlane.EndToEnd.Tests;

/// <summary><c>dataplane xfer-bench</c> and spillover as real processes: over TCP on loopback, and over RDMA through the
/// fake <c>libibverbs.so.1</c> (each process loads it; queue pairs of the two processes talk over its loopback).</summary>
public class TransferProcessTests
{
    [Fact]
    public async Task Xfer_bench_server_and_client_measure_bandwidth_and_latency_and_write_json()
    {
        int port = Binaries.FreePort();
        string json = Path.Combine(Path.GetTempPath(), $"dataplane-xfer-{Environment.ProcessId}.json");
        try
        {
            using var server = new ChildProcess(Binaries.Dataplane, "xfer-bench", "--server", "--listen", $"127.0.0.1:{port}", "--once", "--region", "1M");
            await server.WaitForOutputAsync("listening", TimeSpan.FromSeconds(30));
            using var client = new ChildProcess(Binaries.Dataplane, "xfer-bench", "--connect", $"127.0.0.1:{port}", "--transport", "tcp",
                "--sizes", "4K,64K", "--iterations", "50", "--lat-sizes", "8", "--lat-iterations", "50", "--json", json);

            Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Matches(@"write\s+65536\s+50\s", client.Output);
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            Assert.Equal("tcp", doc.RootElement.GetProperty("transport").GetString());
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task Xfer_bench_runs_over_rdma_between_two_processes_through_the_fake_verbs_library()
    {
        int port = Binaries.FreePort();
        string json = Path.Combine(Path.GetTempPath(), $"dataplane-xfer-rdma-{Environment.ProcessId}.json");
        try
        {
            using var server = new ChildProcess(Binaries.Dataplane, "xfer-bench", "--server", "--listen", $"127.0.0.1:{port}", "--once", "--region", "1M",
                "--transport", "rdma", "--rdma-library", FakeVerbs.LibraryPath);
            await server.WaitForOutputAsync("listening", TimeSpan.FromSeconds(30));
            Assert.Contains("over rdma", server.Output);
            using var client = new ChildProcess(Binaries.Dataplane, "xfer-bench", "--connect", $"127.0.0.1:{port}", "--transport", "rdma",
                "--rdma-library", FakeVerbs.LibraryPath, "--sizes", "4K,256K", "--iterations", "40", "--lat-sizes", "8", "--lat-iterations", "40",
                "--dscp", "26", "--json", json);

            Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Matches(@"read\s+262144\s+40\s", client.Output);
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            Assert.Equal("rdma", doc.RootElement.GetProperty("transport").GetString());
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
            $"--Transfer:Listen=127.0.0.1:{peerTransfer}", .. rdma]);
        await peer.WaitForHttpAsync($"http://127.0.0.1:{peerAdmin}/readyz", TimeSpan.FromSeconds(30));
        // The origin's simulated `simple` model has one instance: with no pipelining and a threshold of 2, a burst spills.
        using var origin = new ChildProcess(Binaries.Dataplane, ["serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0",
            $"--Transfer:Peers:0=127.0.0.1:{peerTransfer}", "--Batching:Models:simple:SpillQueueThreshold=2",
            "--Batching:Models:simple:PipelineDepth=0", "--Batching:Models:simple:MaxBatchSize=4", .. rdma]);
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
        Assert.Matches($@"dataplane_spilled_batches_total{{model=""simple"",peer=""127\.0\.0\.1:{peerTransfer}""}} [1-9]", metrics);
        Assert.Contains("transport=\"rdma\"", metrics);
        Assert.Contains("over rdma", origin.Output + peer.Output);
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
