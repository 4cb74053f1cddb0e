using System.Net;
using System.Text.Json.Nodes;
using DataPlane.Batching.Frontend;
using DataPlane.Host.Tests.Infrastructure;

namespace DataPlane.Host.Tests.Http;

/// <summary>Triton's HTTP routes, status codes, headers and bodies for everything but inference.</summary>
public class HttpEndpointTests(DefaultDaemonFixture fixture) : IClassFixture<DefaultDaemonFixture>
{
    private HttpClient Http => fixture.Harness.Http;

    [Theory]
    [InlineData("/v2/health/live")]
    [InlineData("/v2/health/ready")]
    [InlineData("/v2/health/ready?verbose=1")]
    public async Task Health_is_200_with_an_empty_body(string path)
    {
        var answer = await HttpInfer.GetAsync(Http, path);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Empty(answer.Body);
    }

    [Fact]
    public async Task Server_metadata_is_the_upstream_identity_with_the_dataplane_header()
    {
        var answer = await HttpInfer.GetAsync(Http, "/v2");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        Assert.Equal(ServerIdentity.Value, answer.Message.Headers.GetValues(ServerIdentity.Header).Single());
        var json = answer.Node.AsObject();
        Assert.Equal(["name", "version", "extensions"], json.Select(p => p.Key));
        var grpc = await fixture.Harness.Client.ServerMetadataAsync(new DataPlane.Protocol.Inference.ServerMetadataRequest());
        Assert.Equal(grpc.Name, json["name"]!.GetValue<string>());
        Assert.Equal(grpc.Version, json["version"]!.GetValue<string>());
        Assert.Equal(grpc.Extensions, json["extensions"]!.AsArray().Select(e => e!.GetValue<string>()));
    }

    [Theory]
    [InlineData("/v2/models/simple")]
    [InlineData("/v2/models/simple/versions/1")]
    [InlineData("/v2/models/%73imple")]
    public async Task Model_metadata_has_triton_keys_and_a_batch_dimension(string path)
    {
        var answer = await HttpInfer.GetAsync(Http, path);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        var json = answer.Node.AsObject();
        Assert.Equal(["name", "versions", "platform", "inputs", "outputs"], json.Select(p => p.Key));
        Assert.Equal("simple", json["name"]!.GetValue<string>());
        Assert.Equal(["1"], json["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
        var input = json["inputs"]![0]!.AsObject();
        Assert.Equal(["name", "datatype", "shape"], input.Select(p => p.Key));
        Assert.Equal("""{"name":"INPUT0","datatype":"FP32","shape":[-1,16]}""", input.ToJsonString());
        Assert.Equal("""{"name":"OUTPUT0","datatype":"FP32","shape":[-1,16]}""", json["outputs"]![0]!.ToJsonString());
    }

    [Fact]
    public async Task Model_config_is_triton_json_with_defaults_printed()
    {
        var answer = await HttpInfer.GetAsync(Http, "/v2/models/simple/config");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        var config = answer.Node.AsObject();
        Assert.Equal("simple", config["name"]!.GetValue<string>());
        Assert.Equal(32, config["max_batch_size"]!.GetValue<int>());
        var input = config["input"]![0]!;
        Assert.Equal("INPUT0", input["name"]!.GetValue<string>());
        Assert.Equal("TYPE_FP32", input["data_type"]!.GetValue<string>());
        Assert.Equal("[16]", input["dims"]!.ToJsonString());
        // perf_analyzer reads model_transaction_policy.decoupled without checking that it is there.
        Assert.False(config["model_transaction_policy"]!["decoupled"]!.GetValue<bool>());

        var llm = await HttpInfer.GetAsync(Http, "/v2/models/llm/versions/1/config");
        Assert.True(llm.Node["model_transaction_policy"]!["decoupled"]!.GetValue<bool>());

        var unknown = await HttpInfer.GetAsync(Http, "/v2/models/nope/config");
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal("Request for unknown model: 'nope' is not found", unknown.Error);
    }

    [Fact]
    public async Task Unknown_model_metadata_is_404_with_triton_text()
    {
        var answer = await HttpInfer.GetAsync(Http, "/v2/models/nope");
        Assert.Equal(HttpStatusCode.NotFound, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        Assert.Equal("Request for unknown model: 'nope' is not found", answer.Error);
    }

    [Fact]
    public async Task Unknown_version_metadata_is_404_with_triton_text()
    {
        var answer = await HttpInfer.GetAsync(Http, "/v2/models/simple/versions/7");
        Assert.Equal(HttpStatusCode.NotFound, answer.Status);
        Assert.Equal("Request for unknown model: 'simple' version 7 is not found", answer.Error);
    }

    [Fact]
    public async Task Model_ready_is_200_and_a_version_not_served_is_400_not_ready()
    {
        var ready = await HttpInfer.GetAsync(Http, "/v2/models/simple/ready");
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Empty(ready.Body);

        var other = await HttpInfer.GetAsync(Http, "/v2/models/simple/versions/9/ready");
        Assert.Equal(HttpStatusCode.BadRequest, other.Status);
        Assert.Equal("Model version not ready", other.Error);
    }

    [Fact]
    public async Task Unknown_model_ready_is_the_upstream_answer_in_http_form()
    {
        // Triton up to core r26.06 answers "not ready" (400); newer cores NOT_FOUND (404). Either way a JSON error.
        var answer = await HttpInfer.GetAsync(Http, "/v2/models/nope/ready");
        Assert.Contains(answer.Status, new[] { HttpStatusCode.BadRequest, HttpStatusCode.NotFound });
        Assert.NotEmpty(answer.Error);
    }

    [Fact]
    public async Task Statistics_have_triton_keys_durations_and_counts()
    {
        var infer = await HttpInfer.InferAsync(Http, "echo_int16", HttpInfer.Json(
            """{"inputs":[{"name":"INPUT0","datatype":"INT16","shape":[1,2],"data":[1,2]}]}"""));
        Assert.Equal(HttpStatusCode.OK, infer.Status);

        var answer = await HttpInfer.GetAsync(Http, "/v2/models/echo_int16/stats");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        var top = answer.Node.AsObject();
        Assert.Equal(["model_stats"], top.Select(p => p.Key));
        var stats = Assert.Single(top["model_stats"]!.AsArray())!.AsObject();
        Assert.Equal(
            ["name", "version", "last_inference", "inference_count", "execution_count", "inference_stats", "response_stats", "batch_stats", "memory_usage"],
            stats.Select(p => p.Key));
        Assert.Equal("echo_int16", stats["name"]!.GetValue<string>());
        Assert.Equal("1", stats["version"]!.GetValue<string>());
        Assert.True(stats["inference_count"]!.GetValue<ulong>() >= 1);
        var inference = stats["inference_stats"]!.AsObject();
        Assert.Equal(["success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss"],
            inference.Select(p => p.Key));
        Assert.All(inference, p => Assert.Equal(["count", "ns"], p.Value!.AsObject().Select(d => d.Key)));
        Assert.True(inference["success"]!["count"]!.GetValue<ulong>() >= 1);
        Assert.Equal(inference["success"]!["count"]!.GetValue<ulong>(), inference["queue"]!["count"]!.GetValue<ulong>());
        Assert.IsType<JsonObject>(stats["response_stats"]);
        var batch = Assert.IsType<JsonArray>(stats["batch_stats"]);
        Assert.All(batch, b => Assert.Equal(["batch_size", "compute_input", "compute_infer", "compute_output"], b!.AsObject().Select(p => p.Key)));
        Assert.IsType<JsonArray>(stats["memory_usage"]);
    }

    [Fact]
    public async Task Statistics_of_every_model_are_sorted_by_name()
    {
        var answer = await HttpInfer.GetAsync(Http, "/v2/models/stats");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var names = answer.Node["model_stats"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("simple", names);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public async Task Statistics_of_an_unknown_model_are_400_with_triton_text()
    {
        var answer = await HttpInfer.GetAsync(Http, "/v2/models/nope/stats");
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("requested model 'nope' is not available", answer.Error);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/v2/")]
    [InlineData("/v2/health")]
    [InlineData("/v2/health/live/")]
    [InlineData("/v2/models/simple/")]
    [InlineData("/v2/models//ready")]
    [InlineData("/v2/models/simple/versions/x")]
    [InlineData("/v2/models/simple/versions/1/trace/setting")]
    [InlineData("/v2/models/simple/bogus")]
    [InlineData("/v2/systemsharedmemory/region//status")]
    [InlineData("/v2/repository/index/")]
    [InlineData("/metrics")]
    [InlineData("/inference.GRPCInferenceService/ServerLive")]
    public async Task Unknown_paths_are_404_not_found(string path)
    {
        var answer = await HttpInfer.GetAsync(Http, path);
        Assert.Equal(HttpStatusCode.NotFound, answer.Status);
        Assert.Equal("Not Found", answer.Error);
    }

    [Theory]
    [InlineData("POST", "/v2")]
    [InlineData("POST", "/v2/health/live")]
    [InlineData("DELETE", "/v2/health/ready")]
    [InlineData("POST", "/v2/models/simple")]
    [InlineData("POST", "/v2/models/simple/ready")]
    [InlineData("PUT", "/v2/models/simple/config")]
    [InlineData("POST", "/v2/models/simple/stats")]
    [InlineData("POST", "/v2/models/stats")]
    [InlineData("GET", "/v2/models/simple/infer")]
    [InlineData("GET", "/v2/models/simple/versions/1/infer")]
    [InlineData("GET", "/v2/models/simple/generate")]
    [InlineData("GET", "/v2/repository/index")]
    [InlineData("GET", "/v2/repository/models/simple/load")]
    [InlineData("POST", "/v2/systemsharedmemory/status")]
    [InlineData("GET", "/v2/systemsharedmemory/region/r/register")]
    [InlineData("GET", "/v2/cudasharedmemory/unregister")]
    [InlineData("DELETE", "/v2/trace/setting")]
    [InlineData("PUT", "/v2/logging")]
    public async Task A_known_path_with_the_wrong_method_is_405(string method, string path)
    {
        var answer = await HttpInfer.SendAsync(Http, new HttpMethod(method), path);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, answer.Status);
        Assert.Equal("Method Not Allowed", answer.Error);
    }

    [Fact]
    public async Task Repository_index_is_an_array_sorted_by_name()
    {
        var answer = await HttpInfer.PostAsync(Http, "/v2/repository/index", null);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("application/json", answer.ContentType);
        var models = answer.Node.AsArray();
        var simple = models.Single(m => m!["name"]!.GetValue<string>() == "simple")!.AsObject();
        Assert.Equal("READY", simple["state"]!.GetValue<string>());
        Assert.Equal("1", simple["version"]!.GetValue<string>());
        Assert.DoesNotContain("reason", simple.Select(p => p.Key));

        // A repository name in the path is ignored for the index; {"ready":true} is accepted.
        var named = await HttpInfer.PostAsync(Http, "/v2/repository/somewhere/index", """{"ready":true}""");
        Assert.Equal(HttpStatusCode.OK, named.Status);
        Assert.IsType<JsonArray>(named.Node);
    }

    [Fact]
    public async Task Repository_index_with_a_non_boolean_ready_is_400()
    {
        var answer = await HttpInfer.PostAsync(Http, "/v2/repository/index", """{"ready":"yes"}""");
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("Invalid value for 'ready': expected a boolean", answer.Error);
    }

    [Theory]
    [InlineData("/v2/repository/elsewhere/models/simple/load")]
    [InlineData("/v2/repository/elsewhere/models/simple/unload")]
    public async Task Load_and_unload_with_a_repository_name_are_501(string path)
    {
        var answer = await HttpInfer.PostAsync(Http, path, null);
        Assert.Equal(HttpStatusCode.NotImplemented, answer.Status);
        Assert.Equal("'repository_name' specification is not supported", answer.Error);
    }

    [Fact]
    public async Task Load_parameters_must_be_strings_and_known()
    {
        var notString = await HttpInfer.PostAsync(Http, "/v2/repository/models/simple/load", """{"parameters":{"config":1}}""");
        Assert.Equal(HttpStatusCode.InternalServerError, notString.Status);
        Assert.Equal("attempt to access JSON non-string as string", notString.Error);

        var unknown = await HttpInfer.PostAsync(Http, "/v2/repository/models/simple/load", """{"parameters":{"what":"x"}}""");
        Assert.Equal(HttpStatusCode.InternalServerError, unknown.Status);
        Assert.Equal("unexpected error on creating Triton parameter", unknown.Error);
    }

    [Fact]
    public async Task System_shared_memory_status_is_an_array_and_registration_is_off_by_default()
    {
        var status = await HttpInfer.GetAsync(Http, "/v2/systemsharedmemory/status");
        Assert.Equal(HttpStatusCode.OK, status.Status);
        Assert.Equal("[]", status.Json);

        var unknown = await HttpInfer.GetAsync(Http, "/v2/systemsharedmemory/region/nope/status");
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal("Unable to find system shared memory region: 'nope'", unknown.Error);

        foreach (string path in new[] { "/v2/systemsharedmemory/region/r/register", "/v2/systemsharedmemory/unregister",
            "/v2/cudasharedmemory/region/r/register", "/v2/cudasharedmemory/region/r/unregister" })
        {
            var refused = await HttpInfer.PostAsync(Http, path, """{"key":"k","byte_size":4}""");
            Assert.Equal(HttpStatusCode.NotImplemented, refused.Status);
            Assert.Equal("Client shared memory is disabled. Start the server with '--allow-client-shm=true' to enable.", refused.Error);
        }
    }

    [Fact]
    public async Task Trace_settings_are_checked_before_they_go_upstream()
    {
        var file = await HttpInfer.PostAsync(Http, "/v2/trace/setting", """{"trace_file":"/tmp/x"}""");
        Assert.Equal(HttpStatusCode.NotImplemented, file.Status);
        Assert.Equal("trace file location can not be updated through network protocol", file.Error);

        var off = await HttpInfer.PostAsync(Http, "/v2/trace/setting", """{"trace_level":["TIMESTAMPS","OFF"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, off.Status);
        Assert.Equal("Expect only one trace level 'OFF' is specified", off.Error);

        var rate = await HttpInfer.PostAsync(Http, "/v2/trace/setting", """{"trace_rate":"fast"}""");
        Assert.Equal(HttpStatusCode.BadRequest, rate.Status);
        Assert.Equal("Unable to parse 'trace_rate', got: fast", rate.Error);

        var count = await HttpInfer.PostAsync(Http, "/v2/trace/setting", """{"trace_count":"-5"}""");
        Assert.Equal(HttpStatusCode.BadRequest, count.Status);
        Assert.Equal("Unable to parse 'trace_count'. Expecting value >= -1, got:-5", count.Error);

        var number = await HttpInfer.PostAsync(Http, "/v2/trace/setting", """{"trace_rate":5}""");
        Assert.Equal(HttpStatusCode.InternalServerError, number.Status);
        Assert.Equal("attempt to access JSON non-string as string", number.Error);

        var empty = await HttpInfer.PostAsync(Http, "/v2/trace/setting", null);
        Assert.Equal(HttpStatusCode.InternalServerError, empty.Status);
        Assert.StartsWith("failed to parse the request JSON buffer: The document is empty. at 0", empty.Error);

        var unknown = await HttpInfer.PostAsync(Http, "/v2/models/nope/trace/setting", """{"trace_rate":"fast"}""");
        Assert.Contains(unknown.Status, new[] { HttpStatusCode.BadRequest, HttpStatusCode.NotFound });
        Assert.NotEmpty(unknown.Error);
    }

    [Fact]
    public async Task Trace_settings_answer_in_triton_json_form()
    {
        var answer = await HttpInfer.GetAsync(Http, "/v2/trace/setting");
        if (answer.Status != HttpStatusCode.OK)
        {
            // An upstream without trace support answers with its own status and text, passed on as a JSON error.
            _ = answer.Error;
            return;
        }

        var json = answer.Node.AsObject();
        Assert.Equal("trace_level", json.First().Key);
        Assert.IsType<JsonArray>(json["trace_level"]);
        Assert.All(json.Where(p => p.Key != "trace_level"), p => Assert.Equal(System.Text.Json.JsonValueKind.String, p.Value!.GetValueKind()));
    }

    [Fact]
    public async Task Log_settings_are_checked_before_they_go_upstream()
    {
        var file = await HttpInfer.PostAsync(Http, "/v2/logging", """{"log_file":"/tmp/x"}""");
        Assert.Equal(HttpStatusCode.NotImplemented, file.Status);
        Assert.Equal("log file location can not be updated through network protocol", file.Error);

        var format = await HttpInfer.PostAsync(Http, "/v2/logging", """{"log_format":"json"}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, format.Status);
        Assert.Equal("invalid argument for --log_format, got: json", format.Error);

        var flag = await HttpInfer.PostAsync(Http, "/v2/logging", """{"log_info":"yes"}""");
        Assert.Equal(HttpStatusCode.InternalServerError, flag.Status);
        Assert.Equal("attempt to access JSON non-boolean as boolean", flag.Error);

        var level = await HttpInfer.PostAsync(Http, "/v2/logging", """{"log_verbose_level":-1}""");
        Assert.Equal(HttpStatusCode.InternalServerError, level.Status);
        Assert.Equal("attempt to access JSON non-unsigned-integer as unsigned-integer", level.Error);

        var empty = await HttpInfer.PostAsync(Http, "/v2/logging", "");
        Assert.Equal(HttpStatusCode.InternalServerError, empty.Status);
        Assert.StartsWith("failed to parse the request JSON buffer: The document is empty.", empty.Error);
    }

    [Fact]
    public async Task Log_settings_answer_in_triton_json_form()
    {
        var answer = await HttpInfer.GetAsync(Http, "/v2/logging");
        if (answer.Status != HttpStatusCode.OK)
        {
            _ = answer.Error;
            return;
        }

        var keys = answer.Node.AsObject().Select(p => p.Key).ToList();
        string[] order = ["log_file", "log_info", "log_warning", "log_error", "log_verbose_level", "log_format"];
        Assert.Equal(order.Where(keys.Contains), keys.Where(order.Contains));
    }

    [Fact]
    public async Task Requests_are_counted_by_endpoint_and_code()
    {
        await HttpInfer.GetAsync(Http, "/v2/health/live");
        await HttpInfer.GetAsync(Http, "/v2/nothing/here");
        string metrics = await fixture.Harness.MetricsTextAsync();
        Assert.Contains("dataplane_http_requests_total{endpoint=\"health\",code=\"200\"}", metrics);
        Assert.Contains("dataplane_http_requests_total{endpoint=\"not_found\",code=\"404\"}", metrics);
    }
}
