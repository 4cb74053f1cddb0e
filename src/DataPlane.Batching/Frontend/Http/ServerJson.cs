using System.Buffers;
using System.Text.Json;
using DataPlane.Protocol.Inference;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>The JSON bodies of Triton's HTTP answers other than inference, written from the protocol-neutral
/// (protobuf) answers with Triton's keys and key orders.</summary>
internal static class ServerJson
{
    /// <summary>Triton's keys of a trace settings answer, in its order.</summary>
    private static readonly string[] s_traceOrder = ["trace_level", "trace_rate", "trace_count", "log_frequency", "trace_file", "trace_mode"];

    /// <summary>Triton's keys of a log settings answer, in its order.</summary>
    private static readonly string[] s_logOrder = ["log_file", "log_info", "log_warning", "log_error", "log_verbose_level", "log_format"];

    /// <summary><c>{"error":"&lt;message&gt;"}</c>.</summary>
    public static byte[] Error(string message) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("error", message);
        w.WriteEndObject();
    });

    /// <summary><c>GET /v2</c>: name, version, extensions.</summary>
    public static byte[] ServerMetadata(ServerMetadataResponse metadata) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("name", metadata.Name);
        w.WriteString("version", metadata.Version);
        w.WriteStartArray("extensions");
        foreach (string extension in metadata.Extensions)
        {
            w.WriteStringValue(extension);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>Model metadata: name, versions, platform, inputs, outputs (each name, datatype, shape).</summary>
    public static byte[] ModelMetadata(ModelMetadataResponse metadata) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("name", metadata.Name);
        w.WriteStartArray("versions");
        foreach (string version in metadata.Versions)
        {
            w.WriteStringValue(version);
        }

        w.WriteEndArray();
        w.WriteString("platform", metadata.Platform);
        WriteTensors(w, "inputs", metadata.Inputs);
        WriteTensors(w, "outputs", metadata.Outputs);
        w.WriteEndObject();
    });

    /// <summary><c>{"model_stats":[...]}</c> with the core's key order; every duration <c>{"count":n,"ns":n}</c>;
    /// <c>response_stats</c> an object keyed by response index (sorted as strings, as the core's map is).</summary>
    public static byte[] Statistics(ModelStatisticsResponse statistics) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("model_stats");
        foreach (var s in statistics.ModelStats)
        {
            w.WriteStartObject();
            w.WriteString("name", s.Name);
            w.WriteString("version", s.Version);
            w.WriteNumber("last_inference", s.LastInference);
            w.WriteNumber("inference_count", s.InferenceCount);
            w.WriteNumber("execution_count", s.ExecutionCount);
            var i = s.InferenceStats ?? new InferStatistics();
            w.WriteStartObject("inference_stats");
            Duration(w, "success", i.Success);
            Duration(w, "fail", i.Fail);
            Duration(w, "queue", i.Queue);
            Duration(w, "compute_input", i.ComputeInput);
            Duration(w, "compute_infer", i.ComputeInfer);
            Duration(w, "compute_output", i.ComputeOutput);
            Duration(w, "cache_hit", i.CacheHit);
            Duration(w, "cache_miss", i.CacheMiss);
            w.WriteEndObject();
            w.WriteStartObject("response_stats");
            foreach (var (key, r) in s.ResponseStats.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(key);
                Duration(w, "compute_infer", r.ComputeInfer);
                Duration(w, "compute_output", r.ComputeOutput);
                Duration(w, "success", r.Success);
                Duration(w, "fail", r.Fail);
                Duration(w, "empty_response", r.EmptyResponse);
                Duration(w, "cancel", r.Cancel);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteStartArray("batch_stats");
            foreach (var b in s.BatchStats)
            {
                w.WriteStartObject();
                w.WriteNumber("batch_size", b.BatchSize);
                Duration(w, "compute_input", b.ComputeInput);
                Duration(w, "compute_infer", b.ComputeInfer);
                Duration(w, "compute_output", b.ComputeOutput);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("memory_usage");
            foreach (var m in s.MemoryUsage)
            {
                w.WriteStartObject();
                w.WriteString("type", m.Type);
                w.WriteNumber("id", m.Id);
                w.WriteNumber("byte_size", m.ByteSize);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>The repository index: an array of <c>{name, version, state, reason}</c> with empty fields left out;
    /// a model never loaded is its name alone.</summary>
    public static byte[] RepositoryIndex(RepositoryIndexResponse index) => Write(w =>
    {
        w.WriteStartArray();
        foreach (var m in index.Models)
        {
            w.WriteStartObject();
            w.WriteString("name", m.Name);
            if (m.Version.Length > 0 || m.State.Length > 0 || m.Reason.Length > 0)
            {
                if (m.Version.Length > 0)
                {
                    w.WriteString("version", m.Version);
                }

                w.WriteString("state", m.State);
                if (m.Reason.Length > 0)
                {
                    w.WriteString("reason", m.Reason);
                }
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    /// <summary>System shared-memory status: an array of <c>{name, key, offset, byte_size}</c>, by name.</summary>
    public static byte[] SystemSharedMemory(SystemSharedMemoryStatusResponse status) => Write(w =>
    {
        w.WriteStartArray();
        foreach (var (_, r) in status.Regions.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("name", r.Name);
            w.WriteString("key", r.Key);
            w.WriteNumber("offset", r.Offset);
            w.WriteNumber("byte_size", r.ByteSize);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    /// <summary>CUDA shared-memory status: an array of <c>{name, device_id, byte_size}</c>, by name.</summary>
    public static byte[] CudaSharedMemory(CudaSharedMemoryStatusResponse status) => Write(w =>
    {
        w.WriteStartArray();
        foreach (var (_, r) in status.Regions.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("name", r.Name);
            w.WriteNumber("device_id", r.DeviceId);
            w.WriteNumber("byte_size", r.ByteSize);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    /// <summary>Trace settings: <c>trace_level</c> an array, every other value a string; Triton's keys in its order,
    /// then any mode-specific keys.</summary>
    public static byte[] TraceSettings(TraceSettingResponse settings) => Write(w =>
    {
        w.WriteStartObject();
        var keys = s_traceOrder.Where(settings.Settings.ContainsKey)
            .Concat(settings.Settings.Keys.Where(k => !s_traceOrder.Contains(k)).OrderBy(k => k, StringComparer.Ordinal));
        foreach (string key in keys)
        {
            var values = settings.Settings[key].Value;
            if (key == "trace_level")
            {
                w.WriteStartArray(key);
                foreach (string v in values)
                {
                    w.WriteStringValue(v);
                }

                w.WriteEndArray();
            }
            else
            {
                w.WriteString(key, values.Count > 0 ? values[0] : "");
            }
        }

        w.WriteEndObject();
    });

    /// <summary>Log settings with Triton's keys in its order, each as its JSON type.</summary>
    public static byte[] LogSettings(LogSettingsResponse settings) => Write(w =>
    {
        w.WriteStartObject();
        var keys = s_logOrder.Where(settings.Settings.ContainsKey)
            .Concat(settings.Settings.Keys.Where(k => !s_logOrder.Contains(k)).OrderBy(k => k, StringComparer.Ordinal));
        foreach (string key in keys)
        {
            var value = settings.Settings[key];
            w.WritePropertyName(key);
            switch (value.ParameterChoiceCase)
            {
                case LogSettingsResponse.Types.SettingValue.ParameterChoiceOneofCase.BoolParam:
                    w.WriteBooleanValue(value.BoolParam);
                    break;
                case LogSettingsResponse.Types.SettingValue.ParameterChoiceOneofCase.Uint32Param:
                    w.WriteNumberValue(value.Uint32Param);
                    break;
                case LogSettingsResponse.Types.SettingValue.ParameterChoiceOneofCase.StringParam:
                    w.WriteStringValue(value.StringParam);
                    break;
                default:
                    w.WriteNullValue();
                    break;
            }
        }

        w.WriteEndObject();
    });

    private static void WriteTensors(Utf8JsonWriter w, string name, IEnumerable<ModelMetadataResponse.Types.TensorMetadata> tensors)
    {
        w.WriteStartArray(name);
        foreach (var t in tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("datatype", t.Datatype);
            w.WriteStartArray("shape");
            foreach (long d in t.Shape)
            {
                w.WriteNumberValue(d);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void Duration(Utf8JsonWriter w, string name, StatisticDuration? d)
    {
        w.WriteStartObject(name);
        w.WriteNumber("count", d?.Count ?? 0);
        w.WriteNumber("ns", d?.Ns ?? 0);
        w.WriteEndObject();
    }

    /// <summary>Runs <paramref name="write"/> on a compact writer and returns the UTF-8 bytes.</summary>
    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, HttpJsonWriter.Options))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
