using System.Text.Json;

namespace DataPlane.EndToEnd.Tests;

/// <summary><c>dataplane xfer-bench</c> as two real processes over the TCP transport on loopback.</summary>
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
    public async Task Xfer_bench_names_a_bad_argument_and_exits_2()
    {
        using var bench = new ChildProcess(Binaries.Dataplane, "xfer-bench", "--connect", "127.0.0.1:1", "--sizes", "huge");
        Assert.Equal(2, await bench.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--sizes", bench.Output);
    }
}
