using Microsoft.Extensions.Logging;

namespace DataPlane.Protocol.Serving;

/// <summary>Counts requests whose message bytes do not parse (malformed protobuf in a well-formed gRPC frame) and logs
/// them at most once per <see cref="Interval"/>: one short line naming the method and the parser's reason, with the
/// number of malformed messages not logged since the previous line. A client sending garbage in a loop costs one log
/// line per interval, not a stack trace per request. One instance per gRPC server (listener).</summary>
public sealed partial class MalformedMessages
{
    /// <summary>Longest parser reason repeated in a status or log line.</summary>
    public const int MaxReason = 120;

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _intervalTicks;
    private long _nextLog = long.MinValue;
    private long _suppressed;
    private long _total;

    public MalformedMessages(ILogger<MalformedMessages> logger, TimeProvider? time = null)
        : this(logger, time, TimeSpan.FromSeconds(10))
    {
    }

    public MalformedMessages(ILogger logger, TimeProvider? time, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _time = time ?? TimeProvider.System;
        Interval = interval;
        _intervalTicks = (long)(interval.TotalSeconds * _time.TimestampFrequency);
    }

    /// <summary>Shortest time between two log lines (10 s by default).</summary>
    public TimeSpan Interval { get; }

    /// <summary>Malformed messages seen since start.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Records one malformed message of <paramref name="method"/> (e.g. "/inference.GRPCInferenceService/ModelInfer");
    /// logs it unless a line was logged less than <see cref="Interval"/> ago.</summary>
    public void Report(string method, string reason)
    {
        Interlocked.Increment(ref _total);
        long now = _time.GetTimestamp();
        long next = Volatile.Read(ref _nextLog);
        if ((next != long.MinValue && now < next) || Interlocked.CompareExchange(ref _nextLog, now + _intervalTicks, next) != next)
        {
            Interlocked.Increment(ref _suppressed);
            return;
        }

        long suppressed = Interlocked.Exchange(ref _suppressed, 0);
        Log.Malformed(_logger, method, Cut(reason), suppressed, Interval.TotalSeconds);
    }

    /// <summary><paramref name="reason"/> cut to <see cref="MaxReason"/> characters, on one line.</summary>
    public static string Cut(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        string line = reason.ReplaceLineEndings(" ");
        return line.Length <= MaxReason ? line : string.Concat(line.AsSpan(0, MaxReason), "…");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6501, Level = LogLevel.Warning,
            Message = "Malformed request message on {Method}: {Reason}; answered INVALID_ARGUMENT ({Suppressed} more since the last such line, one per {IntervalSeconds} s)")]
        public static partial void Malformed(ILogger logger, string method, string reason, long suppressed, double intervalSeconds);
    }
}
