using System.Diagnostics;
using System.Text;

namespace DataPlane.Testing;

/// <summary>Locates the published binaries (DATAPLANE_BIN, DATAPLANE_AGENT_BIN, DATAPLANE_AGENT_ARM64_BIN,
/// or their places under artifacts/publish) and runs them as child processes.</summary>
public static class Binaries
{
    public static string Dataplane => Find("DATAPLANE_BIN", "artifacts/publish/dataplane/linux-x64/dataplane");

    public static string Agent => Find("DATAPLANE_AGENT_BIN", "artifacts/publish/dataplane-agent/linux-x64/dataplane-agent");

    public static string AgentArm64 => Find("DATAPLANE_AGENT_ARM64_BIN", "artifacts/publish/dataplane-agent/linux-arm64/dataplane-agent");

    private static string Find(string variable, string relative)
    {
        string path = Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v ? v : RepoFiles.Path(relative);
        Assert.True(File.Exists(path), $"{path} does not exist: run scripts/publish.sh (scripts/test.sh does) or set {variable}");
        return path;
    }

    /// <summary>A free TCP port on loopback for a child process to listen on (see <see cref="FreePorts.Next"/>).</summary>
    public static int FreePort() => FreePorts.Next();
}

/// <summary>A running child process whose output is captured for assertion messages.</summary>
public sealed partial class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _disposed;

    public ChildProcess(string file, params string[] args)
        : this(new Dictionary<string, string>(), file, args)
    {
    }

    /// <summary>Starts <paramref name="file"/> with extra environment variables.</summary>
    public ChildProcess(IReadOnlyDictionary<string, string> environment, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_gcServer"] = "0";
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line != null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>Sends SIGTERM, as systemd does on stop.</summary>
    public void Terminate() => Assert.Equal(0, Kill(_process.Id, 15));

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"process {_process.Id} did not exit within {timeout}; output:\n{Output}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Waits until the output has <paramref name="text"/> after the first <paramref name="after"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout, string after = "")
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            string output = Output;
            int start = output.IndexOf(after, StringComparison.Ordinal);
            if (start >= 0 && output.IndexOf(text, start + after.Length, StringComparison.Ordinal) >= 0)
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"'{text}' did not appear in the output within {timeout}; output:\n{Output}");
    }

    /// <summary>Polls an HTTP URL until it answers 200.</summary>
    public async Task WaitForHttpAsync(string url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                Assert.Fail($"process exited early ({_process.ExitCode}); output:\n{Output}");
            }

            try
            {
                using var r = await http.GetAsync(url);
                if (r.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        Assert.Fail($"{url} did not answer 200 within {timeout}; output:\n{Output}");
    }

    /// <summary>Kills the process if it still runs; safe to call more than once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // exited and reaped in the meantime
        }

        _process.Dispose();
    }

    [System.Runtime.InteropServices.LibraryImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
