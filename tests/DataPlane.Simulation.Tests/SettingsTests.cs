using DataPlane.Protocol.Inference;
using DataPlane.Simulation.Options;
using DataPlane.Simulation.Tests.Infrastructure;
using Grpc.Core;

namespace DataPlane.Simulation.Tests;

/// <summary>TraceSetting and LogSettings: Triton's defaults, key order, update rules and errors.</summary>
public sealed class SettingsTests : IAsyncLifetime
{
    private SimulatedTritonServer _server = null!;

    private GRPCInferenceService.GRPCInferenceServiceClient Client => _server.Client;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync(SimulationOptions.Default with { TraceFile = "/tmp/trace.json" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<List<(string Key, string Values)>> TraceAsync(string model = "", params (string Key, string[] Values)[] settings)
    {
        var request = new TraceSettingRequest { ModelName = model };
        foreach (var (key, values) in settings)
        {
            var value = new TraceSettingRequest.Types.SettingValue();
            value.Value.Add(values);
            request.Settings[key] = value;
        }

        var response = await Client.TraceSettingAsync(request);
        return response.Settings.Select(p => (p.Key, string.Join("|", p.Value.Value))).ToList();
    }

    private async Task<string> TraceRefusedAsync(StatusCode code, string model, params (string Key, string[] Values)[] settings) =>
        (await Requests.FailsWith(code, () => TraceAsync(model, settings))).Status.Detail;

    private static List<(string, string)> Trace(string level, string rate, string count, string frequency = "0") =>
        [("trace_level", level), ("trace_rate", rate), ("trace_count", count), ("log_frequency", frequency), ("trace_file", "/tmp/trace.json"), ("trace_mode", "triton")];

    [Fact]
    public async Task Trace_settings_start_at_tritons_defaults_in_tritons_key_order()
    {
        Assert.Equal(Trace("OFF", "1000", "-1"), await TraceAsync());
        Assert.Equal(Trace("OFF", "1000", "-1"), await TraceAsync("simple"));
    }

    [Fact]
    public async Task Trace_updates_change_only_the_given_keys_and_models_follow_the_global_setting_for_the_rest()
    {
        Assert.Equal(Trace("OFF", "10", "-1"), await TraceAsync("", ("trace_rate", ["10"])));

        // The first model-level update starts from the global values.
        Assert.Equal(Trace("OFF", "10", "5"), await TraceAsync("simple", ("trace_count", ["5"])));

        // Values the model did not set follow later global updates; its own stay.
        Assert.Equal(Trace("TIMESTAMPS|TENSORS", "20", "-1"), await TraceAsync("", ("trace_rate", ["20"]), ("trace_level", ["TIMESTAMPS", "TENSORS"])));
        Assert.Equal(Trace("TIMESTAMPS|TENSORS", "20", "5"), await TraceAsync("simple"));
        Assert.Equal(Trace("TIMESTAMPS|TENSORS", "20", "-1"), await TraceAsync("llm"));

        // An empty value list clears a value: the model's falls back to the global one, the global one to the default.
        Assert.Equal(Trace("TIMESTAMPS|TENSORS", "20", "-1"), await TraceAsync("simple", ("trace_count", [])));
        Assert.Equal(Trace("TIMESTAMPS|TENSORS", "1000", "-1", "7"), await TraceAsync("", ("trace_rate", []), ("log_frequency", ["7"])));
        Assert.Equal(Trace("TIMESTAMPS|TENSORS", "1000", "-1", "7"), await TraceAsync("simple"));
        Assert.Equal(Trace("OFF", "1000", "-1", "7"), await TraceAsync("", ("trace_level", ["OFF"])));
    }

    [Fact]
    public async Task Trace_updates_are_refused_with_tritons_texts()
    {
        Assert.Equal("trace file location can not be updated through network protocol",
            await TraceRefusedAsync(StatusCode.Unimplemented, "", ("trace_file", ["/tmp/x"])));
        Assert.Equal("Expect only one trace level 'OFF' is specified",
            await TraceRefusedAsync(StatusCode.InvalidArgument, "", ("trace_level", ["OFF", "TIMESTAMPS"])));
        Assert.Equal("Unable to parse 'trace_rate', got: fast", await TraceRefusedAsync(StatusCode.InvalidArgument, "", ("trace_rate", ["fast"])));
        Assert.Equal("Unable to parse 'trace_rate', value is out of range [ 0, 4294967295 ], got: 99999999999",
            await TraceRefusedAsync(StatusCode.InvalidArgument, "", ("trace_rate", ["99999999999"])));
        Assert.Equal("Unable to parse 'trace_count'. Expecting value >= -1, got: -2", await TraceRefusedAsync(StatusCode.InvalidArgument, "", ("trace_count", ["-2"])));
        Assert.Equal("Unable to parse 'log_frequency', got: often", await TraceRefusedAsync(StatusCode.InvalidArgument, "", ("log_frequency", ["often"])));
        Assert.Equal("expect only 1 value for 'trace_count'", await TraceRefusedAsync(StatusCode.InvalidArgument, "", ("trace_count", ["1", "2"])));
        Assert.Equal("Request for unknown model : nope", await TraceRefusedAsync(StatusCode.InvalidArgument, "nope"));
        Assert.Equal("Attempting to set invalid trace setting :sample rate must be non-zero",
            await TraceRefusedAsync(StatusCode.InvalidArgument, "", ("trace_level", ["TIMESTAMPS"]), ("trace_rate", ["0"])));

        // Nothing refused changed anything.
        Assert.Equal(Trace("OFF", "1000", "-1"), await TraceAsync());
    }

    [Fact]
    public async Task Tracing_cannot_be_turned_on_without_a_trace_file()
    {
        await using var server = await SimulatedTritonServer.StartAsync();

        var e = await Requests.FailsWith(StatusCode.InvalidArgument, () =>
        {
            var request = new TraceSettingRequest();
            var level = new TraceSettingRequest.Types.SettingValue();
            level.Value.Add("TIMESTAMPS");
            request.Settings["trace_level"] = level;
            return server.Client.TraceSettingAsync(request).ResponseAsync;
        });

        Assert.Equal("Attempting to set invalid trace setting :trace file name is not given", e.Status.Detail);
        Assert.Equal("", (await server.Client.TraceSettingAsync(new TraceSettingRequest())).Settings["trace_file"].Value.Single());
    }

    private async Task<List<(string, object)>> LogAsync(params (string Key, LogSettingsRequest.Types.SettingValue Value)[] settings)
    {
        var request = new LogSettingsRequest();
        foreach (var (key, value) in settings)
        {
            request.Settings[key] = value;
        }

        var response = await Client.LogSettingsAsync(request);
        return response.Settings.Select(p => (p.Key, p.Value.ParameterChoiceCase switch
        {
            LogSettingsResponse.Types.SettingValue.ParameterChoiceOneofCase.BoolParam => (object)p.Value.BoolParam,
            LogSettingsResponse.Types.SettingValue.ParameterChoiceOneofCase.Uint32Param => p.Value.Uint32Param,
            _ => p.Value.StringParam,
        })).ToList();
    }

    private static LogSettingsRequest.Types.SettingValue Bool(bool value) => new() { BoolParam = value };

    private static LogSettingsRequest.Types.SettingValue UInt(uint value) => new() { Uint32Param = value };

    private static LogSettingsRequest.Types.SettingValue Text(string value) => new() { StringParam = value };

    [Fact]
    public async Task Log_settings_have_six_keys_with_tritons_defaults_and_types_and_update_only_the_given_ones()
    {
        List<(string, object)> defaults = [("log_file", ""), ("log_info", true), ("log_warning", true), ("log_error", true), ("log_verbose_level", 0u), ("log_format", "default")];
        Assert.Equal(defaults, await LogAsync());

        List<(string, object)> updated = [("log_file", ""), ("log_info", false), ("log_warning", true), ("log_error", true), ("log_verbose_level", 2u), ("log_format", "ISO8601")];
        Assert.Equal(updated, await LogAsync(("log_info", Bool(false)), ("log_verbose_level", UInt(2)), ("log_format", Text("ISO8601"))));
        Assert.Equal((object)false, (await LogAsync()).Single(p => p.Item1 == "log_info").Item2);
    }

    [Fact]
    public async Task Log_updates_are_refused_with_tritons_texts()
    {
        async Task<string> Refused(StatusCode code, params (string, LogSettingsRequest.Types.SettingValue)[] settings) =>
            (await Requests.FailsWith(code, () => LogAsync(settings))).Status.Detail;

        Assert.Equal("log file location can not be updated through network protocol", await Refused(StatusCode.Unimplemented, ("log_file", Text("/tmp/log"))));
        Assert.Equal("expect boolean for 'log_warning'", await Refused(StatusCode.InvalidArgument, ("log_warning", Text("yes"))));
        Assert.Equal("expect int32 for 'log_verbose_level'", await Refused(StatusCode.InvalidArgument, ("log_verbose_level", Bool(true))));
        Assert.Equal("expect string for 'log_format'", await Refused(StatusCode.InvalidArgument, ("log_format", UInt(1))));
        Assert.Equal("invalid argument for log_format, got: json", await Refused(StatusCode.InvalidArgument, ("log_format", Text("json"))));
    }
}
