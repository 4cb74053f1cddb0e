using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DataPlane.Edge.Api;
using DataPlane.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Agent.Tests;

public sealed class ApiKeyFixture : IAsyncLifetime
{
    public const string AliceKey = "dpa-alice-0123456789";
    public const string BobKey = "dpa-bob-9876543210";

    public HybridHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await HybridHarness.StartAsync(localTtftMs: 10, localTokensPerSecond: 500,
        agentSettings: new Dictionary<string, string?>
        {
            ["Authorization:Keys:alice:Sha256"] = ApiKeySet.Hash(AliceKey),
            ["Authorization:Keys:alice:Models:0"] = "local-small",
            ["Authorization:Keys:bob:Sha256"] = ApiKeySet.Hash(BobKey).ToUpperInvariant(),
        });

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

/// <summary>Bearer keys on the agent's OpenAI API: 401 without a known key, 403 for a model outside the key's list,
/// /v1/models filtered per key, health endpoints open, denials counted per key.</summary>
public class ApiKeyTests(ApiKeyFixture fixture) : IClassFixture<ApiKeyFixture>
{
    private HybridHarness H => fixture.Harness;

    private static async Task<(HttpResponseMessage Response, JsonElement Error)> ErrorOf(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response, doc.RootElement.GetProperty("error").Clone());
    }

    private Task<HttpResponseMessage> ChatAsync(string? key, string model = "local-small")
    {
        var headers = key == null ? Array.Empty<(string, string)>() : [("Authorization", $"Bearer {key}")];
        return H.PostAsync("/v1/chat/completions", HybridHarness.Chat("hello there", model: model), headers);
    }

    [Fact]
    public async Task A_request_without_a_key_gets_401_in_openai_shape()
    {
        var (response, error) = await ErrorOf(await ChatAsync(null));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("You didn't provide an API key.", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("code").ValueKind);
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal("Bearer realm=\"dataplane-agent\"", response.Headers.WwwAuthenticate.Single().ToString());
    }

    [Theory]
    [InlineData("Bearer dpa-not-a-key")]
    [InlineData("Basic YWxpY2U6c2VjcmV0")]
    [InlineData("Bearer ")]
    [InlineData("dpa-alice-0123456789")]
    public async Task A_wrong_key_gets_401_invalid_api_key_without_repeating_it(string header)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = HybridHarness.Json(HybridHarness.Chat("hi")) };
        request.Headers.TryAddWithoutValidation("Authorization", header);
        var (response, error) = await ErrorOf(await H.Api.SendAsync(request));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain("dpa-", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_known_key_is_answered_and_a_model_outside_its_list_is_403()
    {
        var ok = await Answer.ReadAsync(await ChatAsync(ApiKeyFixture.AliceKey));
        Assert.Equal(200, ok.Status);
        Assert.NotEmpty(ok.Text);

        var (response, error) = await ErrorOf(await ChatAsync(ApiKeyFixture.AliceKey, "big-70b"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("The API key 'alice' may not use the model 'big-70b'; its models: local-small", error.GetProperty("message").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Equal("model_not_allowed", error.GetProperty("code").GetString());

        // The scheme is case-insensitive, as HTTP says; bob's key was configured in upper-case hex.
        Assert.Equal(200, (await Answer.ReadAsync(await H.PostAsync("/v1/chat/completions", HybridHarness.Chat("hi"),
            ("Authorization", $"bearer {ApiKeyFixture.BobKey}")))).Status);
        // bob may use every model: an unknown one is the usual 404.
        Assert.Equal(HttpStatusCode.NotFound, (await ChatAsync(ApiKeyFixture.BobKey, "gpt-9")).StatusCode);
    }

    [Fact]
    public async Task Models_lists_only_the_keys_models_and_health_stays_open()
    {
        async Task<List<string>> Models(string key)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
            request.Headers.Add("Authorization", $"Bearer {key}");
            var response = await H.Api.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToList();
        }

        Assert.Equal(["local-small"], await Models(ApiKeyFixture.AliceKey));
        Assert.Equal(["local-small", "big-70b"], await Models(ApiKeyFixture.BobKey));
        Assert.Equal(HttpStatusCode.Unauthorized, (await H.Api.GetAsync("/v1/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await H.Api.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await H.Api.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task Denials_are_counted_per_key()
    {
        (await ChatAsync(ApiKeyFixture.AliceKey, "big-70b")).Dispose();
        (await ChatAsync(ApiKeyFixture.AliceKey, "big-70b")).Dispose();
        (await ChatAsync("nope")).Dispose();
        string metrics = await H.MetricsAsync();
        Assert.Matches("dataplane_agent_authorization_denied_total\\{key=\"alice\",reason=\"model\"\\} [2-9]", metrics);
        Assert.Matches("dataplane_agent_authorization_denied_total\\{key=\"unknown\",reason=\"invalid_key\"\\} [1-9]", metrics);
    }
}

/// <summary>Key configuration is validated at start; hash-key prints what the configuration holds.</summary>
public class ApiKeyConfigurationTests
{
    private static IReadOnlyList<string> Errors(Dictionary<string, string?> values) =>
        Assert.Throws<ConfigurationException>(() => AgentOptions.Bind(new ConfigurationBuilder().AddInMemoryCollection(values).Build())).Errors;

    [Fact]
    public void Hashes_and_models_are_checked()
    {
        string hash = ApiKeySet.Hash("k");
        Assert.Equal(["Authorization:Keys:a:Sha256: is required: the SHA-256 of the key as 64 hex digits (dataplane-agent hash-key)"],
            Errors(new() { ["Authorization:Keys:a:Models:0"] = "local-small" }));
        Assert.Equal(["Authorization:Keys:a:Sha256: 'k' is not 64 hex digits (the SHA-256 of the key: dataplane-agent hash-key)"],
            Errors(new() { ["Authorization:Keys:a:Sha256"] = "k" }));
        Assert.Equal(["Authorization:Keys:a:Models:0: 'gpt-9' is not served here (Local:Models, Gpu:Models: local-small)"],
            Errors(new() { ["Authorization:Keys:a:Sha256"] = hash, ["Authorization:Keys:a:Models:0"] = "gpt-9" }));
        Assert.Equal(["Authorization:Keys:b:Sha256: is also the hash of Authorization:Keys:a; each key has one entry"],
            Errors(new() { ["Authorization:Keys:a:Sha256"] = hash, ["Authorization:Keys:b:Sha256"] = hash }));
        Assert.Equal(["Authorization:Keys:a:Model: unknown setting (check its spelling and docs/CONFIGURATION.md)"],
            Errors(new() { ["Authorization:Keys:a:Sha256"] = hash, ["Authorization:Keys:a:Model"] = "local-small" }));

        var options = AgentOptions.Bind(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Authorization:Keys:a:Sha256"] = hash,
            ["Authorization:Keys:a:Models"] = "local-*",
        }).Build());
        var key = Assert.Single(options.Serving.ApiKeys.Keys);
        Assert.True(key.Allows("local-small"));
        Assert.False(key.Allows("big"));
        Assert.False(AgentOptions.Bind(new ConfigurationBuilder().Build()).Serving.ApiKeys.Required);
    }

    [Fact]
    public async Task Hash_key_prints_the_sha256_of_the_key_on_stdin()
    {
        // The SHA-256 of "abc" (FIPS 180-2's example).
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeySet.Hash("abc"));
        var stdin = Console.In;
        var stdout = Console.Out;
        var output = new StringWriter();
        try
        {
            Console.SetIn(new StringReader("abc\n"));
            Console.SetOut(output);
            Assert.Equal(0, await AgentCommands.RunAsync(["hash-key"]));
            output.GetStringBuilder().Append('|');
            Assert.Equal(0, await AgentCommands.RunAsync(["hash-key", "--new"]));
        }
        finally
        {
            Console.SetIn(stdin);
            Console.SetOut(stdout);
        }

        string[] parts = output.ToString().Split('|');
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", parts[0].Trim());
        string[] lines = parts[1].Split('\n');
        string newKey = lines[0]["key     ".Length..].Trim();
        Assert.StartsWith("dpa-", newKey);
        Assert.Equal($"sha256  {Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(newKey)))}", lines[1].Trim());
    }
}
