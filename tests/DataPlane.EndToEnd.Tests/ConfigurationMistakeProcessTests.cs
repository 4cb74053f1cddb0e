using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DataPlane.EndToEnd.Tests;

/// <summary>Files and a held port for the configuration mistakes: one temporary folder, a PKI, a socket that keeps a
/// port busy.</summary>
public sealed class MistakeFiles : IDisposable
{
    private readonly Socket _holder;

    public MistakeFiles()
    {
        Dir = Directory.CreateTempSubdirectory("dataplane-e2e-mistakes-").FullName;
        Pki = Pki.Create();
        File.WriteAllText(Path.Combine(Dir, "malformed.json"), "{ \"Listen\": { \"Grpc\": \"127.0.0.1:9001\" \n  \"Http\": 1 }");
        File.WriteAllText(Path.Combine(Dir, "empty.json"), "");
        File.WriteAllText(Path.Combine(Dir, "type.json"), "{ \"Listen\": { \"Admin\": { \"Port\": 9002 } } }");
        File.WriteAllText(Path.Combine(Dir, "section.json"), "{ \"Upstraem\": { \"Address\": \"http://127.0.0.1:8001\" } }");
        File.WriteAllText(Path.Combine(Dir, "model.json"), "{ \"Batching\": { \"Models\": { \"simple\": { \"MaxQueueSise\": 8 } } } }");
        File.WriteAllText(Path.Combine(Dir, "servng.json"), "{ \"Servng\": { \"SloMs\": 500 } }");
        File.WriteAllText(Path.Combine(Dir, "notes.txt"), "not a certificate\n");
        _holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _holder.Listen();
        BusyPort = ((IPEndPoint)_holder.LocalEndPoint!).Port;
    }

    public string Dir { get; }

    public Pki Pki { get; }

    /// <summary>A loopback port this fixture listens on for the whole run.</summary>
    public int BusyPort { get; }

    /// <summary>Replaces {dir}, {busy}, {free}, {ca}, {cert}, {key} and {foreign-key} in an argument.</summary>
    public string Expand(string arg) => arg
        .Replace("{dir}", Dir, StringComparison.Ordinal)
        .Replace("{busy}", BusyPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{free}", Binaries.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{ca}", Pki.Ca, StringComparison.Ordinal)
        .Replace("{cert}", Pki.ServerCertificate, StringComparison.Ordinal)
        .Replace("{foreign-key}", Pki.ForeignKey, StringComparison.Ordinal)
        .Replace("{key}", Pki.ServerKey, StringComparison.Ordinal);

    public void Dispose()
    {
        _holder.Dispose();
        Pki.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>Every configuration mistake, made against the published NativeAOT binaries: exit code 2, exactly one
/// line on stderr naming the key, switch or file, and no stack trace anywhere.</summary>
public class ConfigurationMistakeProcessTests(MistakeFiles files) : IClassFixture<MistakeFiles>
{
    // Listeners on free loopback ports, so a mistake is the only reason to stop (and nothing binds 0.0.0.0).
    private static readonly string[] s_daemon = ["serve", "--grpc", "127.0.0.1:{free}", "--http", "127.0.0.1:{free}", "--admin", "127.0.0.1:{free}"];
    private static readonly string[] s_agent = ["serve", "--api", "127.0.0.1:{free}", "--admin", "127.0.0.1:{free}"];

    public static TheoryData<string, string[], string> Daemon() => new()
    {
        { "malformed JSON file", ["--config", "{dir}/malformed.json"], "--config {dir}/malformed.json: not valid JSON: " },
        { "empty JSON file", ["--config", "{dir}/empty.json"], "--config {dir}/empty.json: is empty" },
        { "missing JSON file", ["--config", "{dir}/none.json"], "--config {dir}/none.json: file does not exist" },
        { "object where a value belongs", ["--config", "{dir}/type.json"], "Listen:Admin: expected a single value" },
        { "a value of the wrong type", ["--Shutdown:TimeoutSeconds=soon"], "Shutdown:TimeoutSeconds: 'soon' is not a number" },
        { "unknown top-level section", ["--config", "{dir}/section.json"], "Upstraem:Address: unknown setting" },
        { "per-model typo", ["--config", "{dir}/model.json"], "Batching:Models:simple:MaxQueueSise: unknown setting" },
        { "unknown switch", ["--frobnicate"], "unknown switch '--frobnicate'" },
        { "switch without its value", ["--grpc"], "--grpc needs a value" },
        { "log level Verbose", ["--Logging:LogLevel:Default=Verbose"], "Logging:LogLevel:Default: 'Verbose' is not a log level" },
        { "ClientCa not a certificate", ["--Listen:Tls:Certificate={cert}", "--Listen:Tls:Key={key}", "--Listen:Tls:ClientCa={dir}/notes.txt"],
            "Listen:Tls:ClientCa: file '{dir}/notes.txt' holds no PEM certificate" },
        { "certificate not a certificate", ["--Listen:Tls:Certificate={dir}/notes.txt", "--Listen:Tls:Key={key}"],
            "Listen:Tls:Certificate: file '{dir}/notes.txt' holds no PEM certificate" },
        { "certificate and key mismatch", ["--Listen:Tls:Certificate={cert}", "--Listen:Tls:Key={foreign-key}"],
            "Listen:Tls:Key: the private key in '{foreign-key}' does not match the certificate in '{cert}'" },
        { "gRPC port in use", ["--grpc", "127.0.0.1:{busy}"], "Listen:Grpc: cannot listen on 127.0.0.1:{busy}: the address is already in use" },
        { "admin port in use", ["--admin", "127.0.0.1:{busy}"], "Listen:Admin: cannot listen on 127.0.0.1:{busy}: the address is already in use" },
    };

    public static TheoryData<string, string[], string> Agent() => new()
    {
        { "Servng section", ["--config", "{dir}/servng.json"], "Servng:SloMs: unknown setting" },
        { "malformed JSON file", ["--config", "{dir}/malformed.json"], "--config {dir}/malformed.json: not valid JSON: " },
        { "unknown switch", ["--frobnicate"], "unknown switch '--frobnicate'" },
        { "switch without its value", ["--gpu"], "--gpu needs a value" },
        { "log level Verbose", ["--Logging:LogLevel:Default=Verbose"], "Logging:LogLevel:Default: 'Verbose' is not a log level" },
        { "GPU CA not a certificate", ["--Gpu:Tls:Certificate={cert}", "--Gpu:Tls:Key={key}", "--Gpu:Tls:Ca={dir}/notes.txt"],
            "Gpu:Tls:Ca: file '{dir}/notes.txt' holds no PEM certificate" },
        { "API port in use", ["--api", "127.0.0.1:{busy}"], "Listen:Api: cannot listen on 127.0.0.1:{busy}: the address is already in use" },
    };

    public static TheoryData<string, string[], string> Simulator() => new()
    {
        { "unknown switch", ["--frobnicate"], "unknown option '--frobnicate' (see 'dataplane sim --help')" },
        { "switch without its value", ["--listen"], "option --listen needs a value" },
        { "malformed JSON file", ["--config", "{dir}/malformed.json"], "--config {dir}/malformed.json: not valid JSON: " },
        { "unknown section", ["--config", "{dir}/section.json"], "Upstraem:Address: unknown setting" },
        { "port in use", ["--listen", "127.0.0.1:{busy}"], "--listen: cannot listen on 127.0.0.1:{busy}: the address is already in use" },
    };

    [Theory]
    [MemberData(nameof(Daemon))]
    public async Task Daemon_mistake_exits_2_with_one_line(string what, string[] args, string expected) =>
        await AssertOneLineAsync(what, Binaries.Dataplane, [.. s_daemon, .. args], "dataplane: " + expected);

    [Theory]
    [MemberData(nameof(Agent))]
    public async Task Agent_mistake_exits_2_with_one_line(string what, string[] args, string expected) =>
        await AssertOneLineAsync(what, Binaries.Agent, [.. s_agent, .. args], "dataplane-agent: " + expected);

    [Theory]
    [MemberData(nameof(Simulator))]
    public async Task Simulator_mistake_exits_2_with_one_line(string what, string[] args, string expected) =>
        await AssertOneLineAsync(what, Binaries.Dataplane, ["sim", .. args], "dataplane sim: " + expected);

    private async Task AssertOneLineAsync(string what, string binary, string[] args, string expected)
    {
        string[] expanded = [.. args.Select(files.Expand)];
        expected = files.Expand(expected);
        var (code, stdout, stderr) = await RunAsync(binary, expanded, TimeSpan.FromSeconds(60));
        string all = $"{what}: {string.Join(' ', expanded)}\nstdout:\n{stdout}\nstderr:\n{stderr}";
        Assert.True(code == 2, $"exit {code}, expected 2; {all}");
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr; {all}");
        string line = lines[0];
        Assert.True(line.StartsWith(expected, StringComparison.Ordinal), $"expected a line starting '{expected}'; {all}");
        Assert.DoesNotContain("   at ", stdout + stderr);
        Assert.DoesNotContain("Unhandled exception", stdout + stderr);
        Assert.DoesNotContain("Exception:", stdout + stderr);
    }

    /// <summary>Runs a process to its end with stdout and stderr kept apart.</summary>
    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_gcServer"] = "0";
        using var process = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data != null)
            {
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data != null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not exit within {timeout}; stdout:\n{stdout}\nstderr:\n{stderr}");
        }

        process.WaitForExit();
        lock (stdout)
        {
            lock (stderr)
            {
                return (process.ExitCode, stdout.ToString(), stderr.ToString());
            }
        }
    }
}
