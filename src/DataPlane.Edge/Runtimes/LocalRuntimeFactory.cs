using Microsoft.Extensions.Logging;

namespace DataPlane.Edge.Runtimes;

/// <summary>Creates the adapter for a configured runtime kind.</summary>
public static class LocalRuntimeFactory
{
    /// <summary>llama.cpp server (<see cref="LlamaCppRuntime"/>).</summary>
    public const string LlamaCpp = "llama.cpp";

    /// <summary>Ollama (<see cref="OllamaRuntime"/>).</summary>
    public const string Ollama = "ollama";

    /// <summary>hailo-ollama on the Hailo-10H (<see cref="HailoOllamaRuntime"/>).</summary>
    public const string HailoOllama = "hailo-ollama";

    /// <summary>The simulated local runtime (<see cref="Simulation.SimulatedLocalRuntimeServer"/>),
    /// reached through <see cref="LlamaCppRuntime"/> since it speaks llama.cpp's wire format.</summary>
    public const string Simulated = "simulated";

    /// <summary>The kinds <see cref="Create"/> knows.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [LlamaCpp, Ollama, HailoOllama, Simulated];

    /// <summary>The adapter for <paramref name="kind"/> (case-insensitive).</summary>
    /// <param name="kind">"llama.cpp", "ollama", "hailo-ollama" or "simulated".</param>
    /// <param name="url">The runtime's base URL; null for the kind's default address (llama.cpp
    /// 127.0.0.1:8080, Ollama 127.0.0.1:11434, hailo-ollama 127.0.0.1:8000). The simulated runtime
    /// has no default: pass <see cref="Simulation.SimulatedLocalRuntimeServer.Address"/>.</param>
    /// <param name="model">The runtime's model name.</param>
    /// <param name="http">The agent's shared client.</param>
    /// <param name="requestTimeout">Longest a whole request may take, stream included.</param>
    /// <param name="loggers">For the adapter's health log lines; none when null.</param>
    /// <exception cref="ArgumentException">The kind is unknown, or the simulated kind has no URL.</exception>
    public static HttpLocalRuntime Create(string kind, Uri? url, string model, HttpClient http, TimeSpan requestTimeout, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        string normalized = kind.Trim().ToLowerInvariant();
        var logger = loggers?.CreateLogger("DataPlane.Edge.Runtimes.LocalRuntime");
        return normalized switch
        {
            LlamaCpp => new LlamaCppRuntime(url ?? LlamaCppRuntime.DefaultAddress, model, http, requestTimeout, logger),
            Ollama => new OllamaRuntime(url ?? OllamaRuntime.DefaultAddress, model, http, requestTimeout, logger),
            HailoOllama => new HailoOllamaRuntime(url ?? HailoOllamaRuntime.DefaultAddress, model, http, requestTimeout, logger),
            Simulated => new LlamaCppRuntime(Simulated,
                url ?? throw new ArgumentException("the simulated local runtime needs the URL its server is bound to", nameof(url)),
                model, http, requestTimeout, logger),
            _ => throw new ArgumentException($"unknown local runtime kind '{kind}' (known: {string.Join(", ", Kinds)})", nameof(kind)),
        };
    }
}
