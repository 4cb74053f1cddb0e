using System.Globalization;
using DataPlane.Protocol.Tensors;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Simulation.Options;

/// <summary>Hand-written, reflection-free binding of <see cref="SimulationOptions"/> (see
/// <see cref="SimulationOptions.Bind"/> for the keys). Unknown keys inside a model or tensor are
/// errors, so a misspelt setting never goes unnoticed.</summary>
internal static class SimulationOptionsBinder
{
    private static readonly string[] s_modelKeys =
    [
        "Name", "Kind", "MaxBatchSize", "Instances", "BaseLatencyMs", "PerItemLatencyMs", "JitterMs", "JitterSeed",
        "TimeToFirstTokenMs", "TokensPerSecond", "DefaultMaxTokens", "Inputs", "Outputs",
    ];

    private static readonly string[] s_tensorKeys = ["Name", "DataType", "Dims", "Optional"];

    /// <summary>The datatype names accepted, for messages.</summary>
    public static string DataTypeNames { get; } = string.Join(", ", TensorDataTypes.All.Select(t => t.WireName()));

    public static SimulationOptions Bind(IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        string prefix = section is IConfigurationSection s && s.Path.Length > 0 ? s.Path + ":" : "";
        var modelsSection = section.GetSection("Models");
        var children = Indexed(modelsSection, prefix + "Models");
        if (children.Count == 0)
        {
            return SimulationOptions.Default;
        }

        var models = new SimulatedModelOptions[children.Count];
        for (int i = 0; i < children.Count; i++)
        {
            models[i] = BindModel(children[i]);
        }

        var options = new SimulationOptions { Models = models };
        options.Validate(prefix);
        return options;
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

        throw new SimulationConfigException(m.GetSection("Kind").Path, $"unknown kind '{value}'; expected Tensor or Llm");
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
}
