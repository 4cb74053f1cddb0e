using System.Net;
using DataPlane.Testing;
using DataPlane.Transfer.Bench;

namespace DataPlane.Transfer.Tests.Security;

/// <summary>xfer-bench with mutual TLS, in process: encrypted by default, in clear with <c>--encryption none</c> on both
/// sides, and a client from another CA turned away.</summary>
public sealed class XferBenchTlsTests : IDisposable
{
    private readonly PeerPki _pki = PeerPki.Create();
    private readonly PeerIdentity _server;
    private readonly PeerIdentity _client;

    public XferBenchTlsTests()
    {
        _server = _pki.Issue("gpu-a.test");
        _client = _pki.Issue("gpu-b.test");
    }

    public void Dispose() => _pki.Dispose();

    [Theory]
    [InlineData("tls", "encrypted")]
    [InlineData("none", "authenticated")]
    public async Task Xfer_bench_runs_over_mutual_tls_and_reports_the_protection(string encryption, string protection)
    {
        string json = Path.Combine(_pki.Directory, "report.json");
        var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var serverOut = new StringWriter();
        var server = XferBench.RunAsync(
            ["--server", "--once", "--listen", "127.0.0.1:0", "--region", "1M", "--transport", "tcp", .. Files(_server), "--encryption", encryption, "--allow", "gpu-b.test"],
            serverOut, TextWriter.Null, new XferBenchHooks { OnListening = listening.SetResult }, CancellationToken.None);
        var endpoint = await listening.Task.Within();
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int exit;
        try
        {
            exit = await XferBench.RunAsync(
                ["--connect", $"gpu-a.test@127.0.0.1:{endpoint.Port}", "--transport", "tcp", .. Files(_client), "--encryption", encryption,
                 "--sizes", "64K", "--iterations", "20", "--lat-sizes", "8", "--lat-iterations", "20", "--json", json],
                stdout, stderr, CancellationToken.None).Within();
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"client: {stdout} {stderr} / server: {serverOut}", e);
        }

        Assert.True(exit == 0, stderr.ToString());
        Assert.Equal(0, await server.Within());
        Assert.Contains($"transport tcp ({protection}), peer gpu-a.test", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains($"client gpu-b.test", serverOut.ToString(), StringComparison.Ordinal);
        Assert.Equal(protection, XferBenchOutput.FromJson(await File.ReadAllTextAsync(json))!.Protection);
    }

    [Fact]
    public async Task A_client_with_a_certificate_from_another_ca_gets_exit_1()
    {
        var intruder = _pki.Issue("gpu-b.test", foreign: true);
        var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var server = XferBench.RunAsync(["--server", "--listen", "127.0.0.1:0", "--region", "1M", "--transport", "tcp", .. Files(_server)],
            TextWriter.Null, TextWriter.Null, new XferBenchHooks { OnListening = listening.SetResult }, stop.Token);
        var endpoint = await listening.Task.Within();
        var stderr = new StringWriter();

        int exit = await XferBench.RunAsync(["--connect", $"gpu-a.test@127.0.0.1:{endpoint.Port}", "--transport", "tcp", .. Files(intruder)],
            TextWriter.Null, stderr, CancellationToken.None).Within();

        Assert.Equal(XferBench.ExitFailed, exit);
        Assert.Contains("handshake failed", stderr.ToString(), StringComparison.Ordinal);
        await stop.CancelAsync();
        Assert.Equal(XferBench.ExitCancelled, await server.Within());
    }

    private string[] Files(PeerIdentity identity) => ["--cert", identity.CertificatePath, "--key", identity.KeyPath, "--ca", _pki.CaPath];
}
