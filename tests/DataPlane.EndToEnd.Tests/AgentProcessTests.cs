using System.Diagnostics;
using System.Net.Http.Json;

namespace DataPlane.EndToEnd.Tests;

/// <summary>The published `dataplane-agent` binaries: linux-x64 natively, linux-arm64 under qemu-user-static.</summary>
public class AgentProcessTests
{
    [Fact]
    public async Task X64_agent_serves_models_health_and_metrics_on_separate_listeners()
    {
        await RunAgentAsync(Binaries.Agent, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Arm64_agent_runs_under_qemu()
    {
        const string qemu = "/usr/bin/qemu-aarch64-static";
        Assert.True(File.Exists(qemu), "qemu-user-static is missing: run scripts/bootstrap.sh");
        string file = await Output("file", "-b", Binaries.AgentArm64);
        Assert.Contains("ARM aarch64", file);
        await RunAgentAsync(qemu, TimeSpan.FromSeconds(90), Binaries.AgentArm64);
    }

    private static async Task RunAgentAsync(string file, TimeSpan startup, params string[] prefix)
    {
        int api = Binaries.FreePort(), admin = Binaries.FreePort();
        using var agent = new ChildProcess(file, [.. prefix, "serve", "--api", $"127.0.0.1:{api}", "--admin", $"127.0.0.1:{admin}",
            "--Local:Models:0=qwen2.5-0.5b-q4", "--Local:Models:1=phi-3-mini-q4"]);
        await agent.WaitForHttpAsync($"http://127.0.0.1:{api}/healthz", startup);

        using var http = new HttpClient();
        var models = await http.GetFromJsonAsync<ModelList>($"http://127.0.0.1:{api}/v1/models");
        Assert.Equal("list", models!.Object);
        Assert.Equal(["qwen2.5-0.5b-q4", "phi-3-mini-q4"], models.Data.Select(m => m.Id));
        Assert.Contains("# TYPE", await http.GetStringAsync($"http://127.0.0.1:{admin}/metrics"));
        using (var onApi = await http.GetAsync($"http://127.0.0.1:{api}/metrics"))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, onApi.StatusCode);
        }

        // A completion answered by the (embedded, simulated) local runtime.
        using (var response = await http.PostAsync($"http://127.0.0.1:{api}/v1/chat/completions", new StringContent(
            AgentProcess.Chat("hello, who are you?", maxTokens: 4, model: "qwen2.5-0.5b-q4"), System.Text.Encoding.UTF8, "application/json")))
        {
            var answer = await Answer.ReadAsync(response);
            Assert.Equal(200, answer.Status);
            Assert.Equal("local", answer.PathHeader);
            Assert.Equal(string.Concat(DataPlane.Edge.Runtimes.Simulation.SimulatedLocalModel.Tokens("hello, who are you?", 4).Select(t => t.Text)), answer.Text);
        }

        agent.Terminate();
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    private static async Task<string> Output(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        string output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return output;
    }

    private sealed record ModelList(
        [property: System.Text.Json.Serialization.JsonPropertyName("object")] string Object,
        [property: System.Text.Json.Serialization.JsonPropertyName("data")] List<ModelEntry> Data);

    private sealed record ModelEntry([property: System.Text.Json.Serialization.JsonPropertyName("id")] string Id);
}
