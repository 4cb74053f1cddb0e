using System.Text;
using System.Threading.Channels;

namespace DataPlane.Edge.Serving;

/// <summary>One side of an answer (the local runtime or the GPU pool) running in the background:
/// its tokens are buffered as they arrive so the serving logic can race two sources, switch from one
/// to the other, or replay everything one produced. Cancelling stops the underlying request.</summary>
public sealed class TokenSource : IAsyncDisposable
{
    private readonly Channel<string> _tokens = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _cts;
    private readonly StringBuilder _text = new();
    private readonly Task _pump;

    private TokenSource(string side, CancellationToken outer, Func<TokenSource, CancellationToken, Task> produce, TimeProvider time)
    {
        Side = side;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        StartedAt = time.GetTimestamp();
        Time = time;
        _pump = RunAsync(produce);
    }

    /// <summary>"local" or "gpu".</summary>
    public string Side { get; }

    public TimeProvider Time { get; }

    public long StartedAt { get; }

    /// <summary>Completes when the first token arrives; faults if the source fails first; completes
    /// (without a token) if the source ends empty.</summary>
    public Task FirstToken => _first.Task;

    /// <summary>Completes when the source has produced everything; faults with its failure.</summary>
    public Task Completion => _pump;

    public bool HasToken { get; private set; }

    public ChannelReader<string> Tokens => _tokens.Reader;

    /// <summary>Everything produced so far.</summary>
    public string Text
    {
        get
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    public string FinishReason { get; set; } = "stop";

    public int? PromptTokens { get; set; }

    public int CompletionTokens { get; private set; }

    /// <summary>Elapsed time from start to the first token, once there is one.</summary>
    public TimeSpan? TimeToFirstToken { get; private set; }

    public bool Cancelled => _cts.IsCancellationRequested;

    public static TokenSource Start(string side, CancellationToken outer, Func<TokenSource, CancellationToken, Task> produce, TimeProvider time) =>
        new(side, outer, produce, time);

    /// <summary>Called by the producer for each token.</summary>
    public void Emit(string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        lock (_text)
        {
            _text.Append(text);
        }

        CompletionTokens++;
        if (!HasToken)
        {
            HasToken = true;
            TimeToFirstToken = Time.GetElapsedTime(StartedAt);
            _first.TrySetResult();
        }

        _tokens.Writer.TryWrite(text);
    }

    /// <summary>Stops the source's request (the losing side of a race).</summary>
    public void Cancel() => _cts.Cancel();

    private async Task RunAsync(Func<TokenSource, CancellationToken, Task> produce)
    {
        await Task.Yield();
        try
        {
            await produce(this, _cts.Token).ConfigureAwait(false);
            _tokens.Writer.TryComplete();
            _first.TrySetResult();
        }
        catch (Exception e)
        {
            _tokens.Writer.TryComplete(e);
            _first.TrySetException(e);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        try
        {
            await _pump.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A cancelled or failed source has nothing more to say.
        }

        _cts.Dispose();
    }
}
