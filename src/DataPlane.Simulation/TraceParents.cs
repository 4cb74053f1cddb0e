using System.Threading.Channels;

namespace DataPlane.Simulation;

/// <summary>The W3C <c>traceparent</c> values the simulated Triton received (ModelInfer calls and ModelStreamInfer
/// streams), as Triton continues them when its OpenTelemetry tracing is on: the last <see cref="Capacity"/>, for tests
/// and tools that follow a trace to the upstream hop.</summary>
public sealed class TraceParents
{
    /// <summary>How many values are kept (the oldest are dropped).</summary>
    public const int Capacity = 256;

    private readonly Channel<string> _received = Channel.CreateBounded<string>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false });

    /// <summary>Notes one received value (calls without one are not noted).</summary>
    public void Record(string? traceParent)
    {
        if (!string.IsNullOrEmpty(traceParent))
        {
            _received.Writer.TryWrite(traceParent);
        }
    }

    /// <summary>Waits for the next value received (or kept from before).</summary>
    public ValueTask<string> NextAsync(CancellationToken cancellationToken = default) => _received.Reader.ReadAsync(cancellationToken);

    /// <summary>A value received already, without waiting.</summary>
    public bool TryTake(out string traceParent) => _received.Reader.TryRead(out traceParent!);
}
