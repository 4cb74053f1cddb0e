using System.Diagnostics;

namespace DataPlane.Ops.Tests.Install;

/// <summary>The outcome of one script run: exit code and both output streams.</summary>
internal sealed record ScriptResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}

/// <summary>Runs a tool with an argument list (no shell in between) and captures its output.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class ScriptRun
{
    public static ScriptResult Run(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // Plain, uncoloured Ansible output so the recap can be parsed.
        psi.Environment["ANSIBLE_NOCOLOR"] = "1";
        psi.Environment["ANSIBLE_FORCE_COLOR"] = "0";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new ScriptResult(p.ExitCode, stdout, stderr.Result);
    }

    /// <summary>Octal permission bits of a file, e.g. "644".</summary>
    public static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path) & 0x1FF, 8);
}
