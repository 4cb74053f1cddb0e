namespace DataPlane.Batching.Frontend.Authorization;

/// <summary>The groups of operations a client may be granted (<c>Authorization:…:Operations</c>). Liveness and
/// readiness (ServerLive, ServerReady, the health service, HTTP <c>/v2/health/*</c>) belong to no group: every
/// authenticated client may ask.</summary>
[Flags]
public enum ClientOperations
{
    None = 0,

    /// <summary>ModelInfer, ModelStreamInfer, HTTP infer.</summary>
    Inference = 1,

    /// <summary>ServerMetadata, ModelMetadata, ModelConfig, ModelReady, RepositoryIndex.</summary>
    Metadata = 2,

    /// <summary>RepositoryModelLoad and RepositoryModelUnload.</summary>
    Control = 4,

    /// <summary>System and CUDA shared memory: status, register, unregister.</summary>
    SharedMemory = 8,

    /// <summary>Trace settings (global and per model) and log settings, read or changed.</summary>
    Settings = 16,

    /// <summary>ModelStatistics.</summary>
    Statistics = 32,

    All = Inference | Metadata | Control | SharedMemory | Settings | Statistics,
}

/// <summary>The configuration names of <see cref="ClientOperations"/>.</summary>
public static class ClientOperationNames
{
    private static readonly (string Name, ClientOperations Value)[] s_names =
    [
        ("inference", ClientOperations.Inference),
        ("metadata", ClientOperations.Metadata),
        ("control", ClientOperations.Control),
        ("shared-memory", ClientOperations.SharedMemory),
        ("settings", ClientOperations.Settings),
        ("statistics", ClientOperations.Statistics),
        ("all", ClientOperations.All),
        ("none", ClientOperations.None),
    ];

    /// <summary>Every name a configuration may use, for error messages.</summary>
    public static string Known { get; } = string.Join(", ", s_names.Select(n => n.Name));

    /// <summary>The group named <paramref name="name"/> (case-insensitive).</summary>
    public static bool TryParse(string name, out ClientOperations value)
    {
        foreach (var (n, v) in s_names)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            {
                value = v;
                return true;
            }
        }

        value = ClientOperations.None;
        return false;
    }

    /// <summary>The name of a single group (a metric label and the word in denial messages).</summary>
    public static string Of(ClientOperations operation) => operation switch
    {
        ClientOperations.Inference => "inference",
        ClientOperations.Metadata => "metadata",
        ClientOperations.Control => "control",
        ClientOperations.SharedMemory => "shared-memory",
        ClientOperations.Settings => "settings",
        ClientOperations.Statistics => "statistics",
        _ => "none",
    };

    /// <summary>The names of the groups in <paramref name="operations"/>, comma separated.</summary>
    public static string Describe(ClientOperations operations) =>
        operations == ClientOperations.None ? "none"
        : operations == ClientOperations.All ? "all"
        : string.Join(",", s_names.Where(n => n.Value is not (ClientOperations.All or ClientOperations.None) && (operations & n.Value) != 0)
            .Select(n => n.Name));
}
