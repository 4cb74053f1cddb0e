using System.Net;
using DataPlane.Transfer.Bench;

namespace DataPlane.Transfer.Tests.Bench;

public class XferBenchTests
{
    [Theory]
    [InlineData("--sizes", "--connect 127.0.0.1:1 --sizes 4K,banana")]
    [InlineData("--transport", "--connect 127.0.0.1:1 --transport ib")]
    [InlineData("--connect", "--connect nowhere")]
    [InlineData("--window", "--connect 127.0.0.1:1 --window 0")]
    [InlineData("--iterations", "--connect 127.0.0.1:1 --iterations -3")]
    [InlineData("--duration", "--connect 127.0.0.1:1 --duration 0")]
    [InlineData("--bogus", "--server --bogus 1")]
    [InlineData("--listen", "--connect 127.0.0.1:1 --listen 0.0.0.0:1")]
    [InlineData("--server", "--server --connect 127.0.0.1:1")]
    [InlineData("--connect", "--iterations 5")]
    [InlineData("--lat-sizes", "--connect 127.0.0.1:1 --lat-sizes 1M")]
    [InlineData("--ops", "--connect 127.0.0.1:1 --ops write,send")]
    [InlineData("--dscp", "--connect 127.0.0.1:1 --dscp 64")]
    [InlineData("--flow-class", "--connect 127.0.0.1:1 --flow-class " + "abcdefghijabcdefghijabcdefghijabc")]
    [InlineData("--key", "--connect gpu-a:1 --cert a.pem")]
    [InlineData("--encryption", "--connect 127.0.0.1:1 --encryption none")]
    [InlineData("--encryption", "--connect gpu-a:1 --cert a.pem --key a.key --ca ca.pem --encryption off")]
    [InlineData("--connect", "--connect 127.0.0.1:1 --cert a.pem --key a.key --ca ca.pem")]
    [InlineData("--connect", "--connect bad_name@127.0.0.1:1 --cert a.pem --key a.key --ca ca.pem")]
    [InlineData("--allow", "--connect gpu-a:1 --cert a.pem --key a.key --ca ca.pem --allow gpu-b")]
    [InlineData("--cert", "--connect gpu-a:1 --cert /nonexistent/a.pem --key /nonexistent/a.key --ca /nonexistent/ca.pem")]
    public async Task Bad_arguments_exit_2_naming_the_option(string option, string commandLine)
    {
        var stderr = new StringWriter();
        int exit = await XferBench.RunAsync(commandLine.Split(' '), TextWriter.Null, stderr, CancellationToken.None);

        Assert.Equal(XferBench.ExitUsage, exit);
        Assert.Contains(option, stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_prints_usage()
    {
        var stdout = new StringWriter();
        Assert.Equal(0, await XferBench.RunAsync(["--help"], stdout, TextWriter.Null, CancellationToken.None));
        Assert.Contains("--connect [NAME@]HOST:PORT", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("--encryption MODE", stdout.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4K", 4096)]
    [InlineData("64M", 64 << 20)]
    [InlineData("1G", 1 << 30)]
    [InlineData("100", 100)]
    public void Sizes_parse_with_binary_suffixes(string text, int bytes)
    {
        Assert.True(XferBenchArguments.TrySize(text, out int parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("2G")]
    [InlineData("0")]
    [InlineData("K")]
    [InlineData("-1K")]
    public void Impossible_sizes_are_refused(string text) => Assert.False(XferBenchArguments.TrySize(text, out _));

    [Fact]
    public async Task In_process_server_and_client_produce_sane_numbers_and_valid_json()
    {
        string json = Path.Combine(Path.GetTempPath(), $"xfer-bench-{Guid.NewGuid():N}.json");
        try
        {
            var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
            var serverOut = new StringWriter();
            var server = XferBench.RunAsync(
                ["--server", "--once", "--listen", "127.0.0.1:0", "--region", "1M", "--transport", "tcp"],
                serverOut, TextWriter.Null, new XferBenchHooks { OnListening = listening.SetResult }, CancellationToken.None);
            var endpoint = await listening.Task.Within();

            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int exit = await XferBench.RunAsync(
                ["--connect", $"127.0.0.1:{endpoint.Port}", "--transport", "tcp", "--sizes", "4K,64K", "--iterations", "50",
                 "--lat-sizes", "8,512", "--lat-iterations", "30", "--window", "4", "--json", json, "--flow-class", "bulk", "--dscp", "10"],
                stdout, stderr, CancellationToken.None).Within();

            Assert.True(exit == 0, stderr.ToString());
            Assert.Equal(0, await server.Within());
            Assert.Contains("finished", serverOut.ToString(), StringComparison.Ordinal);

            string output = stdout.ToString();
            Assert.Contains(XferBenchOutput.BandwidthHeader, output, StringComparison.Ordinal);
            Assert.Contains(XferBenchOutput.LatencyHeader, output, StringComparison.Ordinal);

            var report = XferBenchOutput.FromJson(await File.ReadAllTextAsync(json));
            Assert.NotNull(report);
            Assert.Equal("tcp", report.Transport);
            Assert.Equal(4, report.Bandwidth.Count);
            Assert.Equal(["write", "write", "read", "read"], report.Bandwidth.Select(b => b.Op));
            Assert.Equal([4096, 65536, 4096, 65536], report.Bandwidth.Select(b => b.Bytes));
            Assert.All(report.Bandwidth, b =>
            {
                Assert.Equal(50, b.Iterations);
                Assert.True(b.Seconds > 0);
                Assert.True(b.Gbps > 0);
                Assert.Equal(b.Gbps * 1e9 / 8 / (1 << 20), b.MibPerSecond, 6);
            });
            Assert.Equal(4, report.Latency.Count);
            Assert.All(report.Latency, l =>
            {
                Assert.Equal(30, l.Iterations);
                Assert.True(l.P50Us > 0);
                Assert.True(l.P50Us <= l.P99Us && l.P99Us <= l.MaxUs);
            });
            string raw = await File.ReadAllTextAsync(json);
            Assert.Contains("\"mib_per_second\"", raw, StringComparison.Ordinal);
            Assert.Contains("\"p99_us\"", raw, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task A_size_larger_than_the_server_region_fails_with_exit_1()
    {
        var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = XferBench.RunAsync(
            ["--server", "--once", "--listen", "127.0.0.1:0", "--region", "64K", "--transport", "tcp"],
            TextWriter.Null, TextWriter.Null, new XferBenchHooks { OnListening = listening.SetResult }, CancellationToken.None);
        var endpoint = await listening.Task.Within();
        var stderr = new StringWriter();

        int exit = await XferBench.RunAsync(["--connect", $"127.0.0.1:{endpoint.Port}", "--transport", "tcp", "--sizes", "1M", "--test", "bw"],
            TextWriter.Null, stderr, CancellationToken.None).Within();

        Assert.Equal(XferBench.ExitFailed, exit);
        Assert.Contains("--region", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, await server.Within());
    }

    [Fact]
    public async Task Forcing_rdma_without_a_device_fails_with_exit_1()
    {
        var stderr = new StringWriter();
        int exit = await XferBench.RunAsync(["--connect", "127.0.0.1:1", "--transport", "rdma"], TextWriter.Null, stderr, CancellationToken.None);
        Assert.Equal(XferBench.ExitFailed, exit);
        Assert.Contains("rdma", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cancelled_server_exits_130()
    {
        using var cts = new CancellationTokenSource();
        var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = XferBench.RunAsync(["--server", "--listen", "127.0.0.1:0", "--region", "4K", "--transport", "tcp"],
            TextWriter.Null, TextWriter.Null, new XferBenchHooks { OnListening = listening.SetResult }, cts.Token);
        await listening.Task.Within();
        await cts.CancelAsync();
        Assert.Equal(XferBench.ExitCancelled, await server.Within());
    }
}
