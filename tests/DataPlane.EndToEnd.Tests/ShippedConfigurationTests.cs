using System.Diagnostics;

namespace DataPlane.EndToEnd.Tests;

/// <summary>The shipped configuration files (config/) with certificates from scripts/make-pki.sh:
/// the host requires client certificates, the agent escalates over mutual TLS.</summary>
public class ShippedConfigurationTests
{
    private const string Hard = "Prove that the sum of the first n odd numbers is n squared, step by step, and then write a Python function that verifies it.";

    [Fact]
    public async Task Shipped_files_with_make_pki_certificates_carry_escalations_over_mutual_tls()
    {
        string root = RepoFiles.Root;
        string pki = Directory.CreateTempSubdirectory("dataplane-e2e-pki-").FullName;
        try
        {
            Assert.Equal(0, await RunAsync("bash", Path.Combine(root, "scripts/make-pki.sh"), pki, "--host", "localhost,127.0.0.1", "--agent", "pi-01"));

            int sim = Binaries.FreePort(), grpc = Binaries.FreePort(), admin = Binaries.FreePort(), api = Binaries.FreePort(), agentAdmin = Binaries.FreePort();
            using var simulator = new ChildProcess(Binaries.Dataplane, "sim", "--listen", $"127.0.0.1:{sim}");
            // Only addresses and file locations differ from the shipped files.
            using var daemon = new ChildProcess(Binaries.Dataplane, "serve", "--config", Path.Combine(root, "config/dataplane.json"),
                "--upstream", $"http://127.0.0.1:{sim}", "--grpc", $"127.0.0.1:{grpc}", "--admin", $"127.0.0.1:{admin}", "--http", "127.0.0.1:0",
                $"--Listen:Tls:Certificate={pki}/hosts/localhost.pem", $"--Listen:Tls:Key={pki}/hosts/localhost.key",
                $"--Listen:Tls:ClientCa={pki}/ca.pem");
            await daemon.WaitForHttpAsync($"http://127.0.0.1:{admin}/readyz", TimeSpan.FromSeconds(30));

            using var agent = new ChildProcess(Binaries.Agent, "serve", "--config", Path.Combine(root, "config/dataplane-agent.json"),
                "--api", $"127.0.0.1:{api}", "--admin", $"127.0.0.1:{agentAdmin}", "--Local:Runtime=simulated", "--Local:Url=",
                $"--Gpu:Hosts:0=localhost:{grpc}", $"--Gpu:Hosts:1=localhost:{grpc}",
                $"--Gpu:Tls:Certificate={pki}/agents/pi-01.pem", $"--Gpu:Tls:Key={pki}/agents/pi-01.key", $"--Gpu:Tls:Ca={pki}/ca.pem");
            await agent.WaitForHttpAsync($"http://127.0.0.1:{api}/readyz", TimeSpan.FromSeconds(30));
            await agent.WaitForOutputAsync("GPU pool connected: 2 of 2 hosts ready", TimeSpan.FromSeconds(30));
            Assert.Contains("(mTLS True)", agent.Output);

            var client = new AgentProcess(agent, api, agentAdmin);
            var answer = await client.AskAsync(AgentProcess.Chat(Hard, stream: true));
            Assert.Equal(200, answer.Status);
            Assert.Equal("gpu", answer.PathHeader);
            Assert.NotEmpty(answer.Text);
            var gpuOnly = await client.AskAsync(AgentProcess.Chat("hi", model: "llama-3.1-70b"));
            Assert.Equal("gpu_only_model", gpuOnly.Reason);
        }
        finally
        {
            Directory.Delete(pki, recursive: true);
        }
    }

    private static async Task<int> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        string output = await p.StandardOutput.ReadToEndAsync() + await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, output);
        return p.ExitCode;
    }
}
