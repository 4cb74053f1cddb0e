using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Simulation.Settings;

/// <summary>Triton's log settings (the <c>logging</c> extension, LogSettings RPC): <c>log_file</c> (not updatable),
/// <c>log_info</c>, <c>log_warning</c>, <c>log_error</c> (bool), <c>log_verbose_level</c> (uint32) and
/// <c>log_format</c> ("default" or "ISO8601"), with Triton's defaults, types and errors. Keys are applied in that
/// order and the first error stops the update (values applied before it stay, as in Triton). The simulation only
/// stores these settings: its own logging is configured by the host.</summary>
internal sealed class LogSettings
{
    private readonly Lock _lock = new();
    private bool _info = true;
    private bool _warning = true;
    private bool _error = true;
    private uint _verbose;
    private string _format = "default";

    /// <summary>Applies the settings of <paramref name="request"/> and returns those now in force, or Triton's error.</summary>
    public RequestError? TryApply(LogSettingsRequest request, out LogSettingsResponse response)
    {
        response = new LogSettingsResponse();
        var settings = request.Settings;
        lock (_lock)
        {
            if (settings.ContainsKey("log_file"))
            {
                return new RequestError(StatusCode.Unimplemented, "log file location can not be updated through network protocol");
            }

            var error = TryBool(settings, "log_info", ref _info) ?? TryBool(settings, "log_warning", ref _warning) ?? TryBool(settings, "log_error", ref _error);
            if (error != null)
            {
                return error;
            }

            if (settings.TryGetValue("log_verbose_level", out var verbose))
            {
                if (verbose.ParameterChoiceCase != LogSettingsRequest.Types.SettingValue.ParameterChoiceOneofCase.Uint32Param)
                {
                    return RequestError.Invalid("expect int32 for 'log_verbose_level'");
                }

                _verbose = verbose.Uint32Param;
            }

            if (settings.TryGetValue("log_format", out var format))
            {
                if (format.ParameterChoiceCase != LogSettingsRequest.Types.SettingValue.ParameterChoiceOneofCase.StringParam)
                {
                    return RequestError.Invalid("expect string for 'log_format'");
                }

                if (format.StringParam is not ("default" or "ISO8601"))
                {
                    return RequestError.Invalid($"invalid argument for log_format, got: {TritonErrors.Echo(format.StringParam)}");
                }

                _format = format.StringParam;
            }

            var s = response.Settings;
            s["log_file"] = new LogSettingsResponse.Types.SettingValue { StringParam = "" };
            s["log_info"] = new LogSettingsResponse.Types.SettingValue { BoolParam = _info };
            s["log_warning"] = new LogSettingsResponse.Types.SettingValue { BoolParam = _warning };
            s["log_error"] = new LogSettingsResponse.Types.SettingValue { BoolParam = _error };
            s["log_verbose_level"] = new LogSettingsResponse.Types.SettingValue { Uint32Param = _verbose };
            s["log_format"] = new LogSettingsResponse.Types.SettingValue { StringParam = _format };
            return null;
        }
    }

    private static RequestError? TryBool(Google.Protobuf.Collections.MapField<string, LogSettingsRequest.Types.SettingValue> settings, string key, ref bool value)
    {
        if (settings.TryGetValue(key, out var setting))
        {
            if (setting.ParameterChoiceCase != LogSettingsRequest.Types.SettingValue.ParameterChoiceOneofCase.BoolParam)
            {
                return RequestError.Invalid($"expect boolean for '{key}'");
            }

            value = setting.BoolParam;
        }

        return null;
    }
}
