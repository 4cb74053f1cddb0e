namespace DataPlane.Transfer.Handshake;

/// <summary>A handshake message is malformed; <see cref="Field"/> names the field that is wrong
/// (<c>magic</c>, <c>version</c>, <c>length</c>, <c>qpn</c>, …).</summary>
public sealed class HandshakeFormatException : FormatException
{
    /// <summary>Creates the exception for <paramref name="field"/>.</summary>
    public HandshakeFormatException(string field, string message)
        : base($"handshake field '{field}': {message}") => Field = field;

    /// <summary>Creates an exception without a field.</summary>
    public HandshakeFormatException()
        : this("message", "malformed")
    {
    }

    /// <summary>Creates an exception without a field.</summary>
    public HandshakeFormatException(string message)
        : this("message", message)
    {
    }

    /// <summary>Creates an exception without a field, with a cause.</summary>
    public HandshakeFormatException(string message, Exception innerException)
        : base(message, innerException) => Field = "message";

    /// <summary>The wrong field.</summary>
    public string Field { get; }
}
