namespace DataPlane.Edge.Api;

/// <summary>Where an answer goes: a JSON response, or an SSE stream of chunks. The serving logic
/// calls <see cref="BeginAsync"/> once before the first token (a stream sends its headers there),
/// then tokens, possibly one <see cref="ReplaceAsync"/> (speculative replace mode), then
/// <see cref="FinishAsync"/>.</summary>
public interface IAnswerSink
{
    /// <summary>True once <see cref="BeginAsync"/> ran (for a stream: headers and bytes have left).</summary>
    bool Started { get; }

    /// <summary>Starts the answer; <paramref name="path"/> goes into the X-DataPlane-Path header.</summary>
    ValueTask BeginAsync(string path, CancellationToken cancellationToken);

    ValueTask TokenAsync(string text, CancellationToken cancellationToken);

    /// <summary>Discards the text so far: a stream sends a replace event (see docs/AGENT.md), a JSON
    /// answer forgets its buffer. The tokens that follow are the replacement.</summary>
    ValueTask ReplaceAsync(string path, CancellationToken cancellationToken);

    ValueTask FinishAsync(string finishReason, UsageDto usage, DataplaneInfo info, CancellationToken cancellationToken);
}
