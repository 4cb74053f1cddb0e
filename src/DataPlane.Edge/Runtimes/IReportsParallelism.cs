namespace DataPlane.Edge.Runtimes;

/// <summary>A local runtime that says how many generations it serves at once: llama.cpp server reports its
/// slots (<c>GET /props</c>, <c>total_slots</c>, set by <c>--parallel</c>), and the simulated runtime answers the
/// same way. Ollama and hailo-ollama do not report theirs (Ollama's <c>OLLAMA_NUM_PARALLEL</c> is server
/// configuration): for them the agent's <c>Local:Parallelism</c> says it.</summary>
public interface IReportsParallelism
{
    /// <summary>The generations the runtime serves at once, as it reports them now; null when it did not answer,
    /// answered an error, or its answer has no usable figure (a positive integer). Never throws for the runtime's
    /// failures; honours cancellation.</summary>
    Task<int?> ReadParallelismAsync(CancellationToken cancellationToken);
}
