using System.Globalization;
using DataPlane.Protocol.Tensors;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Simulation.Options;

/// <summary>Hand-written, reflection-free binding of <see cref="SimulationOptions"/> (see
/// <see cref="SimulationOptions.Bind"/> for the keys). Unknown keys inside a model or tensor are
/// errors, so a misspelt setting never goes unnoticed.</summary>
internal static class SimulationOptionsBinder
{
    private static readonly string[] s_topKeys =
    [
        "Models", "ServerVersion", "ModelControl", "LoadModels", "AllowClientShm", "TraceFile", "SharedMemoryDirectory",
        "SlowdownFactor", "SlowdownAfterSeconds", "SlowdownForSeconds",
    ];

    private static readonly string[] s_modelKeys =
    [
        "Name", "Kind", "MaxBatchSize", "Instances", "BaseLatencyMs", "PerItemLatencyMs", "JitterMs", "JitterSeed",
        "TimeToFirstTokenMs", "TokensPerSecond", "DefaultMaxTokens", "MaxSequenceIdleMs", "Inputs", "Outputs",
    ];

    private static readonly string[] s_tensorKeys = ["Name", "DataType", "Dims", "Optional"];

    /// <summary>The datatype names accepted, for messages.</summary>
    public static string DataTypeNames { get; } = string.Join(", ", TensorDataTypes.All.Select(t => t.WireName()));

    public static SimulationOptions Bind(IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        string prefix = section is IConfigurationSection s && s.Path.Length > 0 ? s.Path + ":" : "";
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            return SimulationOptions.Default;
        }

        foreach (var child in children)
        {
            if (Array.IndexOf(s_topKeys, child.Key) < 0)
            {
                throw new SimulationConfigException(child.Path, $"unknown setting; the settings here are {string.Join(", ", s_topKeys)}");
            }
        }

        var defaults = SimulationOptions.Default;
        var modelSections = Indexed(section.GetSection("Models"), prefix + "Models");
        var models = modelSections.Count == 0 ? defaults.Models : modelSections.ConvertAll(BindModel);
        var options = new SimulationOptions
        {
            Models = models,
            ServerVersion = section["ServerVersion"]?.Trim() ?? defaults.ServerVersion,
            ModelControl = ModelControl(section, prefix),
            LoadModels = Names(section.GetSection("LoadModels")),
            AllowClientShm = Bool(section, prefix, "AllowClientShm", defaults.AllowClientShm),
            TraceFile = section["TraceFile"] ?? defaults.TraceFile,
            SharedMemoryDirectory = section["SharedMemoryDirectory"]?.Trim() ?? defaults.SharedMemoryDirectory,
            SlowdownFactor = Positive(section, prefix, "SlowdownFactor", defaults.SlowdownFactor, 1000),
            SlowdownAfter = TimeSpan.FromSeconds(Positive(section, prefix, "SlowdownAfterSeconds", 0, 86_400, zero: true)),
            SlowdownFor = TimeSpan.FromSeconds(Positive(section, prefix, "SlowdownForSeconds", 0, 86_400, zero: true)),
        };
        options.Validate(prefix);
        return options;
    }

    private static SimulatedModelControl ModelControl(IConfiguration section, string prefix)
    {
        string? value = section["ModelControl"]?.Trim();
        return value switch
        {
            null => SimulatedModelControl.None,
            _ when value.Equals("none", StringComparison.OrdinalIgnoreCase) => SimulatedModelControl.None,
            _ when value.Equals("explicit", StringComparison.OrdinalIgnoreCase) => SimulatedModelControl.Explicit,
            _ => throw new SimulationConfigException(prefix + "ModelControl", $"'{value}' is not a model control mode; expected none or explicit"),
        };
    }

    /// <summary>A list of names: "a,b" or <c>:0</c>, <c>:1</c> … children; blanks are dropped.</summary>
    private static string[] Names(IConfigurationSection section)
    {
        var items = section.Value is { } csv ? csv.Split(',') : Indexed(section, section.Path).Select(c => c.Value ?? "").ToArray();
        return items.Select(n => n.Trim()).Where(n => n.Length > 0).ToArray();
    }

    private static SimulatedModelOptions BindModel(IConfigurationSection m)
    {
        CheckKeys(m, s_modelKeys);
        var kind = Kind(m);
        var inputs = BindTensors(m.GetSection("Inputs"));
        var outputs = BindTensors(m.GetSection("Outputs"));
        if (kind == SimulatedModelKind.Llm)
        {
            inputs = inputs.Count > 0 ? inputs : SimulatedModelOptions.LlmInputs;
            outputs = outputs.Count > 0 ? outputs : SimulatedModelOptions.LlmOutputs;
        }
        else if (kind == SimulatedModelKind.Sequence)
        {
            inputs = inputs.Count > 0 ? inputs : SimulatedModelOptions.SequenceInputs;
            outputs = outputs.Count > 0 ? outputs : SimulatedModelOptions.SequenceOutputs;
        }
        else if (outputs.Count == 0)
        {
            // Output k mirrors input k.
            outputs = inputs.Select((t, k) => new SimulatedTensorOptions("OUTPUT" + k.ToString(CultureInfo.InvariantCulture), t.DataType, t.Dims)).ToArray();
        }

        var defaults = new SimulatedModelOptions { Name = "" };
        return new SimulatedModelOptions
        {
            Name = m["Name"] ?? "",
            Kind = kind,
            MaxBatchSize = Int(m, "MaxBatchSize", defaults.MaxBatchSize),
            Instances = Int(m, "Instances", defaults.Instances),
            BaseLatency = Milliseconds(m, "BaseLatencyMs", defaults.BaseLatency),
            PerItemLatency = Milliseconds(m, "PerItemLatencyMs", defaults.PerItemLatency),
            Jitter = Milliseconds(m, "JitterMs", defaults.Jitter),
            JitterSeed = Int(m, "JitterSeed", defaults.JitterSeed),
            TimeToFirstToken = Milliseconds(m, "TimeToFirstTokenMs", defaults.TimeToFirstToken),
            TokensPerSecond = Double(m, "TokensPerSecond", defaults.TokensPerSecond),
            DefaultMaxTokens = Int(m, "DefaultMaxTokens", defaults.DefaultMaxTokens),
            MaxSequenceIdle = Milliseconds(m, "MaxSequenceIdleMs", defaults.MaxSequenceIdle),
            Inputs = inputs,
            Outputs = outputs,
        };
    }

    private static IReadOnlyList<SimulatedTensorOptions> BindTensors(IConfigurationSection section)
    {
        var children = Indexed(section, section.Path);
        var tensors = new SimulatedTensorOptions[children.Count];
        for (int i = 0; i < children.Count; i++)
        {
            var t = children[i];
            CheckKeys(t, s_tensorKeys);
            tensors[i] = new SimulatedTensorOptions(t["Name"] ?? "", DataType(t), Dims(t.GetSection("Dims")))
            {
                Optional = Bool(t, "Optional", false),
            };
        }

        return tensors;
    }

    /// <summary>The children of a list section in index order; non-numeric or gapped keys are errors.</summary>
    private static List<IConfigurationSection> Indexed(IConfigurationSection section, string path)
    {
        var list = new List<(int Index, IConfigurationSection Section)>();
        foreach (var child in section.GetChildren())
        {
            if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                throw new SimulationConfigException(child.Path, $"'{child.Key}' is not a list index; write {path}:0, {path}:1 …");
            }

            list.Add((index, child));
        }

        list.Sort((a, b) => a.Index.CompareTo(b.Index));
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i].Index != i)
            {
                throw new SimulationConfigException(list[i].Section.Path,
                    $"list index {list[i].Index} where {i} was expected; number the entries of {path} 0, 1, 2 … without gaps");
            }
        }

        return list.ConvertAll(e => e.Section);
    }

    private static void CheckKeys(IConfigurationSection section, string[] known)
    {
        foreach (var child in section.GetChildren())
        {
            if (Array.IndexOf(known, child.Key) < 0)
            {
                throw new SimulationConfigException(child.Path, $"unknown setting; the settings here are {string.Join(", ", known)}");
            }
        }
    }

    private static SimulatedModelKind Kind(IConfigurationSection m)
    {
        string? value = m["Kind"];
        if (string.IsNullOrEmpty(value) || value.Equals("Tensor", StringComparison.OrdinalIgnoreCase))
        {
            return SimulatedModelKind.Tensor;
        }

        if (value.Equals("Llm", StringComparison.OrdinalIgnoreCase))
        {
            return SimulatedModelKind.Llm;
        }

        if (value.Equals("Sequence", StringComparison.OrdinalIgnoreCase))
        {
            return SimulatedModelKind.Sequence;
        }

        throw new SimulationConfigException(m.GetSection("Kind").Path, $"unknown kind '{value}'; expected Tensor, Llm or Sequence");
    }

    private static TensorDataType DataType(IConfigurationSection t)
    {
        string? value = t["DataType"];
        var key = t.GetSection("DataType").Path;
        if (string.IsNullOrEmpty(value))
        {
            throw new SimulationConfigException(key, $"missing; expected one of {DataTypeNames}");
        }

        // Accept the wire names in any case, and the model-configuration names (TYPE_FP32, TYPE_STRING).
        string name = value.Trim().ToUpperInvariant();
        if (name.StartsWith("TYPE_", StringComparison.Ordinal))
        {
            name = name["TYPE_".Length..];
            name = name == "STRING" ? "BYTES" : name;
        }

        if (!TensorDataTypes.TryParse(name, out var type))
        {
            throw new SimulationConfigException(key, $"unknown datatype '{value}'; expected one of {DataTypeNames}");
        }

        return type;
    }

    private static long[] Dims(IConfigurationSection dims)
    {
        var children = Indexed(dims, dims.Path);
        if (children.Count > 0)
        {
            return children.Select(c => Dim(c.Path, c.Value)).ToArray();
        }

        string text = (dims.Value ?? "").Trim().TrimStart('[').TrimEnd(']').Trim();
        if (text.Length == 0)
        {
            return [];
        }

        return text.Split(',').Select(d => Dim(dims.Path, d)).ToArray();
    }

    private static long Dim(string key, string? text)
    {
        if (!long.TryParse(text?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long d))
        {
            throw new SimulationConfigException(key, $"'{text}' is not a dimension; write whole numbers such as 16, 3,224,224 or -1 (any size)");
        }

        return d;
    }

    private static int Int(IConfigurationSection m, string key, int fallback)
    {
        string? value = m[key];
        if (value is null)
        {
            return fallback;
        }

        if (!int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int result))
        {
            throw new SimulationConfigException(m.GetSection(key).Path, $"'{value}' is not a whole number");
        }

        return result;
    }

    private static double Double(IConfigurationSection m, string key, double fallback)
    {
        string? value = m[key];
        if (value is null)
        {
            return fallback;
        }

        if (!double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double result) || !double.IsFinite(result))
        {
            throw new SimulationConfigException(m.GetSection(key).Path, $"'{value}' is not a number");
        }

        return result;
    }

    private static TimeSpan Milliseconds(IConfigurationSection m, string key, TimeSpan fallback)
    {
        double ms = Double(m, key, double.NaN);
        if (double.IsNaN(ms))
        {
            return fallback;
        }

        // Out-of-range values are reported by the validator with the same key.
        double clamped = Math.Clamp(ms, -SimulationOptionsValidator.MaxLatency.TotalMilliseconds * 2, SimulationOptionsValidator.MaxLatency.TotalMilliseconds * 2);
        return TimeSpan.FromTicks((long)Math.Round(clamped * TimeSpan.TicksPerMillisecond));
    }

    private static bool Bool(IConfiguration section, string prefix, string key, bool fallback)
    {
        string? value = section[key];
        if (value is null)
        {
            return fallback;
        }

        if (!bool.TryParse(value.Trim(), out bool result))
        {
            throw new SimulationConfigException(prefix + key, $"'{value}' is not true or false");
        }

        return result;
    }

    private static bool Bool(IConfigurationSection t, string key, bool fallback)
    {
        string? value = t[key];
        if (value is null)
        {
            return fallback;
        }

        if (!bool.TryParse(value.Trim(), out bool result))
        {
            throw new SimulationConfigException(t.GetSection(key).Path, $"'{value}' is not true or false");
        }

        return result;
    }

    /// <summary>A number in (0, max] (or [0, max] with <paramref name="zero"/>), else an error naming the key.</summary>
    private static double Positive(IConfiguration section, string prefix, string key, double fallback, double max, bool zero = false)
    {
        string? text = section[key];
        if (text == null)
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value)
            || value > max || value < 0 || (value == 0 && !zero))
        {
            throw new SimulationConfigException(prefix + key, $"'{text}' is not a number in {(zero ? "[0" : "(0")}, {max.ToString(CultureInfo.InvariantCulture)}]");
        }

        return value;
    }
}
