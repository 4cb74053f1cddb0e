using DataPlane.Transfer.Engine;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Messaging;

/// <summary>What one process lets its RPC channels hold. A channel charges every byte of a message from the moment
/// it arrives — a fragmented message's buffer grows as its fragments come, it is never allocated from the length the
/// first fragment announces — until the message is handed over (a response) or served (a request), against its own
/// budget (<see cref="BytesPerConnection"/>) and this process-wide one (<see cref="BytesPerProcess"/>). A channel may
/// also have at most <see cref="PartialMessagesPerConnection"/> messages half received (a peer's sender sends one
/// message at a time, so one is the honest number) and <see cref="RequestsPerConnection"/> requests being served.
/// Exceeding any of them closes that channel: counted in
/// <c>dataplane_transfer_rpc_limit_violations_total{reason}</c> and logged once for the channel.</summary>
public sealed class RpcLimits
{
    /// <summary>Bytes charged for each whole message on top of its payload (its bookkeeping and the task serving it).</summary>
    public const int MessageOverhead = 512;

    private long _held;

    /// <summary>Creates limits.</summary>
    /// <param name="maxMessageBytes">Largest whole request or response (default 256 MiB).</param>
    /// <param name="bytesPerConnection">Bytes one channel may hold (default 512 MiB).</param>
    /// <param name="bytesPerProcess">Bytes all channels sharing this instance may hold (default 1 GiB).</param>
    /// <param name="partialMessagesPerConnection">Messages one channel may have half received (default 4).</param>
    /// <param name="requestsPerConnection">Requests one channel may be serving at once (default 128).</param>
    public RpcLimits(int maxMessageBytes = 256 << 20, long bytesPerConnection = 512L << 20, long bytesPerProcess = 1L << 30,
        int partialMessagesPerConnection = 4, int requestsPerConnection = 128)
    {
        MaxMessageBytes = maxMessageBytes;
        BytesPerConnection = bytesPerConnection;
        BytesPerProcess = bytesPerProcess;
        PartialMessagesPerConnection = partialMessagesPerConnection;
        RequestsPerConnection = requestsPerConnection;
        if (Validate() is { Count: > 0 } errors)
        {
            throw new ArgumentException("invalid RPC limits: " + string.Join("; ", errors));
        }
    }

    /// <summary>The limits every channel created without its own share (one process-wide budget).</summary>
    public static RpcLimits Shared { get; } = new();

    /// <summary>Largest whole request or response.</summary>
    public int MaxMessageBytes { get; }

    /// <summary>Bytes one channel may hold.</summary>
    public long BytesPerConnection { get; }

    /// <summary>Bytes all channels sharing these limits may hold.</summary>
    public long BytesPerProcess { get; }

    /// <summary>Messages one channel may have half received.</summary>
    public int PartialMessagesPerConnection { get; }

    /// <summary>Requests one channel may be serving at once.</summary>
    public int RequestsPerConnection { get; }

    /// <summary>Where violations and the held bytes are counted (null: nowhere).</summary>
    public TransferMetrics? Metrics { get; init; }

    /// <summary>Where a violation is logged (null: not logged).</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Bytes held now by all channels sharing these limits.</summary>
    public long HeldBytes => Interlocked.Read(ref _held);

    /// <summary>Every problem with values given to the constructor (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxMessageBytes <= 0)
        {
            errors.Add($"max message bytes: {MaxMessageBytes} is not positive");
        }

        if (BytesPerConnection < MaxMessageBytes + (long)MessageOverhead)
        {
            errors.Add($"bytes per connection: {BytesPerConnection} cannot hold one message of {MaxMessageBytes} bytes");
        }

        if (BytesPerProcess < BytesPerConnection)
        {
            errors.Add($"bytes per process: {BytesPerProcess} is below the bytes per connection ({BytesPerConnection})");
        }

        if (PartialMessagesPerConnection is < 1 or > 1024)
        {
            errors.Add($"partial messages per connection: {PartialMessagesPerConnection} is outside 1..1024");
        }

        if (RequestsPerConnection is < 1 or > 65536)
        {
            errors.Add($"requests per connection: {RequestsPerConnection} is outside 1..65536");
        }

        return errors;
    }

    /// <summary>Takes <paramref name="bytes"/> from the process budget; false (and nothing taken) when it would overflow.</summary>
    internal bool TryReserve(long bytes)
    {
        while (true)
        {
            long held = Interlocked.Read(ref _held);
            if (held + bytes > BytesPerProcess)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _held, held + bytes, held) == held)
            {
                Metrics?.RpcBufferedBytesChanged(bytes);
                return true;
            }
        }
    }

    /// <summary>Gives <paramref name="bytes"/> back to the process budget.</summary>
    internal void Release(long bytes)
    {
        if (bytes != 0)
        {
            Interlocked.Add(ref _held, -bytes);
            Metrics?.RpcBufferedBytesChanged(-bytes);
        }
    }

    /// <summary>Counts and logs a channel closed for exceeding a limit.</summary>
    internal void Violated(string peer, string reason, string detail)
    {
        Metrics?.RpcLimitExceeded(reason);
        if (Logger is not null)
        {
            TransferLog.RpcLimitExceeded(Logger, peer, reason, detail);
        }
    }
}

/// <summary>A peer exceeded one of the <see cref="RpcLimits"/>; its channel is closed.</summary>
public sealed class RpcLimitException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RpcLimitException(string reason, string message)
        : base(message) => Reason = reason;

    /// <summary>Creates the exception without details.</summary>
    public RpcLimitException()
        : this("unknown", "an RPC limit was exceeded")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public RpcLimitException(string message)
        : this("unknown", message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public RpcLimitException(string message, Exception innerException)
        : base(message, innerException) => Reason = "unknown";

    /// <summary>partial_messages, connection_bytes, process_bytes or requests.</summary>
    public string Reason { get; }
}
