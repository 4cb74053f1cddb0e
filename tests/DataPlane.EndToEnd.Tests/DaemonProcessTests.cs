using DataPlane.Protocol.Inference;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace DataPlane.EndToEnd.Tests;

/// <summary>The published NativeAOT `dataplane` binary as a real process.</summary>
public class DaemonProcessTests
{
    private static ModelInferRequest Slow(int value, string id) => new()
    {
        ModelName = "slow",
        Id = id,
        Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "INPUT0", Datatype = "INT32", Shape = { 1, 1 } } },
        RawInputContents = { ByteString.CopyFrom(BitConverter.GetBytes(value)) },
    };

    [Fact]
    public async Task Aot_daemon_starts_with_embedded_defaults_answers_and_stops_cleanly_on_sigterm()
    {
        int grpc = Binaries.FreePort(), admin = Binaries.FreePort();
        using var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0");
        await daemon.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpc}");
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        // The identity is the upstream's (the simulated Triton's); DataPlane names itself in a response header.
        var metadata = client.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("triton", (await metadata).Name);
        Assert.StartsWith("dataplane/", (await metadata.ResponseHeadersAsync).GetValue("dataplane-version"));
        var index = await client.RepositoryIndexAsync(new RepositoryIndexRequest());
        Assert.Contains(index.Models, m => m.Name == "simple");
        Assert.Contains("SIMULATED Triton", daemon.Output);

        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Sigterm_drains_every_request_in_flight()
    {
        string config = Path.Combine(Path.GetTempPath(), $"dataplane-e2e-sim-{Environment.ProcessId}.json");
        await File.WriteAllTextAsync(config, """
            { "Simulation": { "Models": [ {
                "Name": "slow", "MaxBatchSize": 8, "Instances": 1, "BaseLatencyMs": 150,
                "Inputs": [ { "Name": "INPUT0", "DataType": "INT32", "Dims": "1" } ],
                "Outputs": [ { "Name": "OUTPUT0", "DataType": "INT32", "Dims": "1" } ] } ] } }
            """);
        try
        {
            int sim = Binaries.FreePort(), grpc = Binaries.FreePort(), admin = Binaries.FreePort();
            using var simulator = new ChildProcess(Binaries.Dataplane, "sim", "--listen", $"127.0.0.1:{sim}", "--config", config);
            using var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--upstream", $"http://127.0.0.1:{sim}",
                "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0", "--Batching:Defaults:MaxQueueSize=4096",
                "--Batching:Defaults:MaxQueueTimeMs=0"); // the point is a long queue at shutdown
            await daemon.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));

            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpc}");
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
            await client.ServerLiveAsync(new ServerLiveRequest());
            var calls = Enumerable.Range(0, 240).Select(i => client.ModelInferAsync(Slow(i, $"r{i}")).ResponseAsync).ToList();

            // 240 requests are 30 batches of 8 at 150 ms each (4.5 s): once all are in the batcher (queued, or sent
            // upstream in a batch of rows), most are still queued, even when a busy machine took a second or two to send them.
            using var http = new HttpClient();
            await Eventually.TrueAsync(async () =>
                {
                    string metrics = await http.GetStringAsync($"http://127.0.0.1:{admin}/metrics");
                    return Sample(metrics, "dataplane_queue_depth{model=\"slow\"}")
                        + Sample(metrics, "dataplane_batch_size_sum{model=\"slow\"}") >= 240;
                },
                TimeSpan.FromSeconds(30), "the daemon to admit all 240 requests");

            string status = await http.GetStringAsync($"http://127.0.0.1:{admin}/status");
            daemon.Terminate();
            var responses = await Task.WhenAll(calls);
            Assert.Equal(240, responses.Length);
            for (int i = 0; i < responses.Length; i++)
            {
                Assert.Equal($"r{i}", responses[i].Id);
                Assert.Equal(BitConverter.GetBytes(i + 1), responses[i].RawOutputContents[0].ToByteArray());
            }

            Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("draining", daemon.Output);
            Assert.Matches("\"queuedRequests\": ([5-9][0-9]|[1-2][0-9][0-9])", status);
            simulator.Terminate();
            Assert.Equal(0, await simulator.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Invalid_configuration_stops_the_process_naming_every_bad_key()
    {
        using var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--policy", "quickest", "--Batching:Defaults:MaxWindowMs=-1", "--grpc", "here");
        Assert.Equal(2, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Batching:Defaults:Policy: 'quickest' is not one of adaptive, fixed, none", daemon.Output);
        Assert.Contains("Batching:Defaults:MaxWindowMs: '-1' is not a number from 0 to 1000", daemon.Output);
        Assert.Contains("Listen:Grpc: 'here' is not host:port", daemon.Output);
    }

    [Fact]
    public async Task Bench_verb_measures_a_running_daemon_and_writes_csv_and_json()
    {
        int grpc = Binaries.FreePort(), admin = Binaries.FreePort();
        using var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0");
        await daemon.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));
        string csv = Path.Combine(Path.GetTempPath(), $"dataplane-e2e-{Environment.ProcessId}.csv");
        string json = Path.ChangeExtension(csv, ".json");
        try
        {
            using var bench = new ChildProcess(Binaries.Dataplane, "bench", "--target", $"http://127.0.0.1:{grpc}", "--model", "simple",
                "--rate", "100", "--duration", "1", "--warmup", "0.5", "--csv", csv, "--json", json, "--label", "e2e");
            Assert.Equal(0, await bench.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            string[] lines = await File.ReadAllLinesAsync(csv);
            Assert.StartsWith("label,target,model,rpc,mode,offered", lines[0]);
            Assert.StartsWith("e2e,", lines[1]);
            Assert.Contains("\"label\":\"e2e\"", await File.ReadAllTextAsync(json));
            Assert.Contains("p99 ms", bench.Output);
        }
        finally
        {
            File.Delete(csv);
            File.Delete(json);
        }

        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>The value of one sample in Prometheus text (0 when absent).</summary>
    private static double Sample(string metrics, string series)
    {
        foreach (string line in metrics.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line.AsSpan(series.Length + 1), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
