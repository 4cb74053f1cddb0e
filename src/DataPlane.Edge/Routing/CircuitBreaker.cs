using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Edge.Routing;

/// <summary>State of a <see cref="CircuitBreaker"/>.</summary>
public enum CircuitState
{
    /// <summary>Requests flow; consecutive failures are counted.</summary>
    Closed,

    /// <summary>Requests are refused until the cooldown ends.</summary>
    Open,

    /// <summary>The cooldown ended; one trial request at a time probes the target.</summary>
    HalfOpen,
}

/// <summary>Settings of a <see cref="CircuitBreaker"/>. The defaults follow LiteLLM's router cooldown
/// (<c>allowed_fails</c> 3, <c>cooldown_time</c> 5 s).</summary>
public sealed record CircuitBreakerOptions
{
    /// <summary>Consecutive failures that open the circuit. Default 3.</summary>
    public int FailureThreshold { get; init; } = 3;

    /// <summary>How long the circuit stays open before a trial request may probe. Default 5 s.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>A state change of a <see cref="CircuitBreaker"/>.</summary>
/// <param name="From">The state before.</param>
/// <param name="To">The state after.</param>
public readonly record struct CircuitTransition(CircuitState From, CircuitState To);

/// <summary>A circuit breaker in front of the GPU pool (or one host).
/// <list type="bullet">
/// <item>Closed: <see cref="TryAcquire"/> always succeeds. <see cref="OnFailure"/> counts consecutive
/// failures, <see cref="OnSuccess"/> resets the count; at <see cref="CircuitBreakerOptions.FailureThreshold"/>
/// the circuit opens.</item>
/// <item>Open: <see cref="TryAcquire"/> fails until <see cref="CircuitBreakerOptions.Cooldown"/> has passed
/// since opening; the first call after that moves to HalfOpen and is granted the trial.</item>
/// <item>HalfOpen: exactly one trial request is in flight at a time; every other <see cref="TryAcquire"/>
/// fails. The trial's <see cref="OnSuccess"/> closes the circuit; its <see cref="OnFailure"/> opens it
/// again with a fresh cooldown; <see cref="OnAbandoned"/> (cancelled, no verdict) frees the trial slot.</item>
/// </list>
/// Outcomes reported while Open (requests that started before it opened) change nothing. Each caller
/// that acquired must report exactly one outcome. Thread-safe (one lock, held for a few instructions);
/// <see cref="StateChanged"/> handlers run after the lock is released, on the reporting thread, so
/// under concurrency they may observe transitions slightly out of order — use <see cref="Transitions"/>
/// for counts.</summary>
public sealed partial class CircuitBreaker
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private CircuitState _state = CircuitState.Closed;
    private int _consecutiveFailures;
    private long _openedAt;
    private bool _trialInFlight;
    private long _transitions;
    private long _opened;

    /// <summary>Creates a closed breaker.</summary>
    /// <param name="name">Names the target in logs (e.g. "gpu-pool").</param>
    /// <param name="options">Threshold and cooldown; the defaults when null.</param>
    /// <param name="time">The clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Logs openings and closings; none when null.</param>
    public CircuitBreaker(string name, CircuitBreakerOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        Options = options ?? new CircuitBreakerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.FailureThreshold, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.Cooldown, TimeSpan.Zero, nameof(options));
        Name = name;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Raised after every state change (for metrics), outside the breaker's lock.</summary>
    public event Action<CircuitTransition>? StateChanged;

    /// <summary>The target's name.</summary>
    public string Name { get; }

    /// <summary>Threshold and cooldown.</summary>
    public CircuitBreakerOptions Options { get; }

    /// <summary>The current state. An Open circuit whose cooldown has passed still reads Open until the
    /// next <see cref="TryAcquire"/> takes the trial.</summary>
    public CircuitState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>Consecutive failures counted while Closed.</summary>
    public int ConsecutiveFailures
    {
        get
        {
            lock (_lock)
            {
                return _consecutiveFailures;
            }
        }
    }

    /// <summary>State changes so far.</summary>
    public long Transitions => Interlocked.Read(ref _transitions);

    /// <summary>How many times the circuit opened (from Closed or HalfOpen).</summary>
    public long TimesOpened => Interlocked.Read(ref _opened);

    /// <summary>Time left until an Open circuit admits a trial (zero when not Open or already due);
    /// suitable for a Retry-After header.</summary>
    public TimeSpan RemainingCooldown
    {
        get
        {
            lock (_lock)
            {
                if (_state != CircuitState.Open)
                {
                    return TimeSpan.Zero;
                }

                var left = Options.Cooldown - _time.GetElapsedTime(_openedAt);
                return left > TimeSpan.Zero ? left : TimeSpan.Zero;
            }
        }
    }

    /// <summary>Asks to send a request: true when Closed, or when this call takes the HalfOpen trial
    /// (moving Open → HalfOpen once the cooldown has passed); false otherwise.</summary>
    public bool TryAcquire()
    {
        CircuitTransition? transition = null;
        bool granted;
        lock (_lock)
        {
            switch (_state)
            {
                case CircuitState.Closed:
                    granted = true;
                    break;
                case CircuitState.Open when _time.GetElapsedTime(_openedAt) >= Options.Cooldown:
                    transition = Move(CircuitState.HalfOpen);
                    _trialInFlight = true;
                    granted = true;
                    break;
                case CircuitState.HalfOpen when !_trialInFlight:
                    _trialInFlight = true;
                    granted = true;
                    break;
                default:
                    granted = false;
                    break;
            }
        }

        Raise(transition);
        return granted;
    }

    /// <summary>Reports a successful request: resets the failure count; closes a HalfOpen circuit.</summary>
    public void OnSuccess()
    {
        CircuitTransition? transition = null;
        lock (_lock)
        {
            switch (_state)
            {
                case CircuitState.Closed:
                    _consecutiveFailures = 0;
                    break;
                case CircuitState.HalfOpen:
                    _trialInFlight = false;
                    _consecutiveFailures = 0;
                    transition = Move(CircuitState.Closed);
                    break;
            }
        }

        Raise(transition);
    }

    /// <summary>Reports a failed request: counts it while Closed (opening the circuit at the threshold);
    /// re-opens a HalfOpen circuit with a fresh cooldown.</summary>
    public void OnFailure()
    {
        CircuitTransition? transition = null;
        lock (_lock)
        {
            switch (_state)
            {
                case CircuitState.Closed:
                    if (++_consecutiveFailures >= Options.FailureThreshold)
                    {
                        transition = Open();
                    }

                    break;
                case CircuitState.HalfOpen:
                    _trialInFlight = false;
                    transition = Open();
                    break;
            }
        }

        Raise(transition);
    }

    /// <summary>Reports a request that ended without a verdict (e.g. cancelled by the client): while
    /// HalfOpen it frees the trial slot so another caller may probe; otherwise it changes nothing.</summary>
    public void OnAbandoned()
    {
        lock (_lock)
        {
            if (_state == CircuitState.HalfOpen)
            {
                _trialInFlight = false;
            }
        }
    }

    private CircuitTransition Open()
    {
        _openedAt = _time.GetTimestamp();
        _consecutiveFailures = 0;
        Interlocked.Increment(ref _opened);
        return Move(CircuitState.Open);
    }

    private CircuitTransition Move(CircuitState to)
    {
        var transition = new CircuitTransition(_state, to);
        _state = to;
        Interlocked.Increment(ref _transitions);
        return transition;
    }

    private void Raise(CircuitTransition? transition)
    {
        if (transition is not { } t)
        {
            return;
        }

        if (t.To == CircuitState.Open)
        {
            Log.Opened(_logger, Name, t.From, Options.Cooldown.TotalMilliseconds);
        }
        else if (t.To == CircuitState.Closed)
        {
            Log.Closed(_logger, Name);
        }

        StateChanged?.Invoke(t);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Warning,
            Message = "Circuit {Name} opened (from {From}); refusing requests for {CooldownMs} ms")]
        public static partial void Opened(ILogger logger, string name, CircuitState from, double cooldownMs);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Circuit {Name} closed; the trial request succeeded")]
        public static partial void Closed(ILogger logger, string name);
    }
}
