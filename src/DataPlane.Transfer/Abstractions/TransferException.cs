namespace DataPlane.Transfer.Abstractions;

/// <summary>A transfer or connection failed. <see cref="Status"/> says why; handshake failures also name the
/// <see cref="Stage"/>, and a failed chained submission names the <see cref="ChainIndex"/> of the first
/// operation that failed.</summary>
public sealed class TransferException : Exception
{
    /// <summary>Creates an exception with a status and message.</summary>
    public TransferException(TransferStatus status, string message, Exception? innerException = null)
        : base(message, innerException) => Status = status;

    /// <summary>Creates a handshake failure at <paramref name="stage"/>.</summary>
    public TransferException(HandshakeStage stage, string message, Exception? innerException = null)
        : base($"handshake failed at stage {stage.Name()}: {message}", innerException)
    {
        Status = TransferStatus.HandshakeFailed;
        Stage = stage;
    }

    /// <summary>Creates an exception without details (status <see cref="TransferStatus.GeneralError"/>).</summary>
    public TransferException()
        : this(TransferStatus.GeneralError, "transfer failed")
    {
    }

    /// <summary>Creates an exception with a message (status <see cref="TransferStatus.GeneralError"/>).</summary>
    public TransferException(string message)
        : this(TransferStatus.GeneralError, message)
    {
    }

    /// <summary>Creates an exception with a message and cause (status <see cref="TransferStatus.GeneralError"/>).</summary>
    public TransferException(string message, Exception innerException)
        : this(TransferStatus.GeneralError, message, innerException)
    {
    }

    /// <summary>Why the transfer failed.</summary>
    public TransferStatus Status { get; }

    /// <summary>The handshake step that failed, when <see cref="Status"/> is <see cref="TransferStatus.HandshakeFailed"/>.</summary>
    public HandshakeStage? Stage { get; }

    /// <summary>For a refused peer (stage <see cref="HandshakeStage.Tls"/> or a rejection for it), the
    /// <see cref="Security.AuthFailures"/> reason; null otherwise.</summary>
    public string? AuthFailure { get; init; }

    /// <summary>Index in the chain of the first failed operation of <see cref="ITransferConnection.SubmitAsync"/>.</summary>
    public int? ChainIndex { get; init; }
}
