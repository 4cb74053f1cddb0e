using System.Diagnostics;

namespace DataPlane.Testing;

/// <summary>Builds the C code of native/ for tests with the system compiler (cc, else clang).</summary>
public static class NativeBuild
{
    /// <summary>Runs the compiler with <paramref name="arguments"/> (which name the output); throws with the compiler's
    /// messages when it fails.</summary>
    public static void Compile(string what, IEnumerable<string> arguments)
    {
        string compiler = File.Exists("/usr/bin/cc") ? "/usr/bin/cc" : "clang";
        var psi = new ProcessStartInfo(compiler) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {compiler}");
        string text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{compiler} could not build {what} ({p.ExitCode}): {text}");
        }
    }
}
