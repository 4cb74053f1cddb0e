using System.Globalization;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace DataPlane.Simulation.Settings;

/// <summary>Triton's trace settings (the <c>trace</c> extension, TraceSetting RPC), global and per model, with
/// Triton's defaults (level OFF, rate 1000, count -1, log_frequency 0, the configured file, mode triton), update
/// rules and errors. A model's setting keeps the values given for it and follows the global setting for the rest;
/// an empty value list clears a value (a model's falls back to the global one, the global one to the default); a
/// model with nothing of its own left follows the global setting entirely. The simulation only stores these
/// settings: it traces nothing and writes no file.</summary>
internal sealed class TraceSettings
{
    private const string LevelKey = "trace_level";
    private const string RateKey = "trace_rate";
    private const string CountKey = "trace_count";
    private const string LogFrequencyKey = "log_frequency";
    private const string FileKey = "trace_file";
    private const string ModeKey = "trace_mode";

    private readonly Lock _lock = new();
    private readonly Setting _default;
    private readonly Dictionary<string, Setting> _models = new(StringComparer.Ordinal);
    private readonly HashSet<string> _followingGlobal = new(StringComparer.Ordinal);
    private Setting _global;

    public TraceSettings(string file)
    {
        _default = new Setting(TraceLevels.Off, 1000, -1, 0, file, false, false, false, false);
        _global = _default;
    }

    /// <summary>Applies the settings of <paramref name="request"/> (when it has any) to the global setting or to
    /// the model's, and returns the setting now in force; Triton's INVALID_ARGUMENT or UNIMPLEMENTED otherwise.
    /// The caller has checked that a named model is ready.</summary>
    public RequestError? TryApply(TraceSettingRequest request, out TraceSettingResponse response)
    {
        response = new TraceSettingResponse();
        string model = request.ModelName;
        if (request.Settings.Count > 0)
        {
            var error = TryRead(request.Settings, out var update);
            if (error != null)
            {
                return error;
            }

            lock (_lock)
            {
                error = Apply(model, update);
                if (error == null && model.Length == 0)
                {
                    // Models that follow the global setting in part see the new global values.
                    foreach (var name in _followingGlobal.ToList())
                    {
                        error ??= Apply(name, default);
                    }
                }
            }

            if (error != null)
            {
                return error;
            }
        }

        Setting current;
        lock (_lock)
        {
            current = _models.TryGetValue(model, out var s) ? s : _global;
        }

        var settings = response.Settings;
        var level = new TraceSettingResponse.Types.SettingValue();
        if (current.Level == TraceLevels.Off)
        {
            level.Value.Add("OFF");
        }
        else
        {
            if ((current.Level & TraceLevels.Timestamps) != 0)
            {
                level.Value.Add("TIMESTAMPS");
            }

            if ((current.Level & TraceLevels.Tensors) != 0)
            {
                level.Value.Add("TENSORS");
            }
        }

        settings[LevelKey] = level;
        settings[RateKey] = Value(current.Rate.ToString(CultureInfo.InvariantCulture));
        settings[CountKey] = Value(current.Count.ToString(CultureInfo.InvariantCulture));
        settings[LogFrequencyKey] = Value(current.LogFrequency.ToString(CultureInfo.InvariantCulture));
        settings[FileKey] = Value(current.File);
        settings[ModeKey] = Value("triton");
        return null;
    }

    private static TraceSettingResponse.Types.SettingValue Value(string value)
    {
        var v = new TraceSettingResponse.Types.SettingValue();
        v.Value.Add(value);
        return v;
    }

    /// <summary>Reads an update, checking keys in Triton's order: the file (never updatable), the level, the rate, the
    /// count and the log frequency. Unknown keys are ignored, as Triton ignores them.</summary>
    private static RequestError? TryRead(MapField<string, TraceSettingRequest.Types.SettingValue> settings, out Update update)
    {
        update = default;
        if (settings.ContainsKey(FileKey))
        {
            return new RequestError(StatusCode.Unimplemented, "trace file location can not be updated through network protocol");
        }

        if (settings.TryGetValue(LevelKey, out var levels))
        {
            if (levels.Value.Count == 0)
            {
                update.ClearLevel = true;
            }

            var level = TraceLevels.Off;
            foreach (string name in levels.Value)
            {
                switch (name)
                {
                    case "OFF" when levels.Value.Count == 1:
                        update.Level = TraceLevels.Off;
                        break;
                    case "OFF":
                        return RequestError.Invalid("Expect only one trace level 'OFF' is specified");
                    case "TIMESTAMPS":
                        level |= TraceLevels.Timestamps;
                        update.Level = level;
                        break;
                    case "TENSORS":
                        level |= TraceLevels.Tensors;
                        update.Level = level;
                        break;
                    default:
                        // Triton ignores level names it does not know.
                        break;
                }
            }
        }

        var error = TryReadNumber(settings, RateKey, "[ 0, 4294967295 ]", out update.ClearRate, out int? rate);
        update.Rate = rate is { } r ? unchecked((uint)r) : null;
        if (error != null)
        {
            return error;
        }

        error = TryReadNumber(settings, CountKey, "[ -1, 2147483647 ]", out update.ClearCount, out update.Count);
        if (error == null && update.Count < -1)
        {
            error = RequestError.Invalid($"Unable to parse '{CountKey}'. Expecting value >= -1, got: {TritonErrors.Echo(settings[CountKey].Value[0])}");
        }

        if (error != null)
        {
            return error;
        }

        error = TryReadNumber(settings, LogFrequencyKey, "[ 0, 4294967295 ]", out update.ClearLogFrequency, out int? frequency);
        update.LogFrequency = frequency is { } f ? unchecked((uint)f) : null;
        return error;
    }

    /// <summary>One numeric setting, read as C++ <c>std::stoi</c> reads it (leading blanks, a sign, the leading
    /// digits; the rest ignored).</summary>
    private static RequestError? TryReadNumber(MapField<string, TraceSettingRequest.Types.SettingValue> settings, string key, string range,
        out bool clear, out int? value)
    {
        clear = false;
        value = null;
        if (!settings.TryGetValue(key, out var setting))
        {
            return null;
        }

        if (setting.Value.Count == 0)
        {
            clear = true;
            return null;
        }

        if (setting.Value.Count > 1)
        {
            return RequestError.Invalid($"expect only 1 value for '{key}'");
        }

        string text = setting.Value[0];
        return StoI(text) switch
        {
            (true, long v) when v is >= int.MinValue and <= int.MaxValue => Set(out value, (int)v),
            (true, _) => RequestError.Invalid($"Unable to parse '{key}', value is out of range {range}, got: {TritonErrors.Echo(text)}"),
            _ => RequestError.Invalid($"Unable to parse '{key}', got: {TritonErrors.Echo(text)}"),
        };

        static RequestError? Set(out int? target, int v)
        {
            target = v;
            return null;
        }
    }

    /// <summary>Digits found and their value as std::stoi reads them (<see cref="CppIntegers"/>); a value beyond 64 bits
    /// reads as <see cref="long.MaxValue"/>, out of the int range like any other too-large value.</summary>
    private static (bool Digits, long Value) StoI(string text) =>
        CppIntegers.TryRead(text, out long value, out bool overflow) ? (true, overflow ? long.MaxValue : value) : (false, 0);

    /// <summary>Builds the new setting of <paramref name="model"/> (empty: global) from its current one, the update
    /// and what it falls back to. Called under the lock.</summary>
    private RequestError? Apply(string model, Update update)
    {
        bool global = model.Length == 0;
        Setting? current = global ? _global : _models.GetValueOrDefault(model);
        var fallback = global ? _default : _global;

        bool levelSet = !update.ClearLevel && ((current?.LevelSpecified ?? false) || update.Level != null);
        bool rateSet = !update.ClearRate && ((current?.RateSpecified ?? false) || update.Rate != null);
        bool countSet = !update.ClearCount && ((current?.CountSpecified ?? false) || update.Count != null);
        bool frequencySet = !update.ClearLogFrequency && ((current?.LogFrequencySpecified ?? false) || update.LogFrequency != null);

        var next = new Setting(
            levelSet ? update.Level ?? current!.Level : fallback.Level,
            rateSet ? update.Rate ?? current!.Rate : fallback.Rate,
            countSet ? update.Count ?? current!.Count : fallback.Count,
            frequencySet ? update.LogFrequency ?? current!.LogFrequency : fallback.LogFrequency,
            fallback.File,
            levelSet, rateSet, countSet, frequencySet);

        if (!global)
        {
            if (!(levelSet || rateSet || countSet || frequencySet))
            {
                _models.Remove(model);
                _followingGlobal.Remove(model);
                return null;
            }

            // The file is never a model's own, so a model setting always follows the global one in part.
            _followingGlobal.Add(model);
        }

        if (next.Level != TraceLevels.Off && (next.Rate == 0 || next.File.Length == 0))
        {
            return RequestError.Invalid("Attempting to set invalid trace setting :" +
                (next.Rate == 0 ? "sample rate must be non-zero" : "trace file name is not given"));
        }

        if (global)
        {
            _global = next;
        }
        else
        {
            _models[model] = next;
        }

        return null;
    }

    /// <summary>Trace levels as flags; <see cref="Off"/> alone disables tracing.</summary>
    [Flags]
    private enum TraceLevels
    {
        Off = 0,
        Timestamps = 1,
        Tensors = 2,
    }

    /// <summary>One setting and which of its values were given for it (the others follow its fallback).</summary>
    private sealed record Setting(TraceLevels Level, uint Rate, int Count, uint LogFrequency, string File,
        bool LevelSpecified, bool RateSpecified, bool CountSpecified, bool LogFrequencySpecified);

    /// <summary>The values a request sets (null: not given) or clears.</summary>
    private struct Update
    {
        public TraceLevels? Level;
        public uint? Rate;
        public int? Count;
        public uint? LogFrequency;
        public bool ClearLevel;
        public bool ClearRate;
        public bool ClearCount;
        public bool ClearLogFrequency;
    }
}
