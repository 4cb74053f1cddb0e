using System.Net;
using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Engine;

/// <summary>Log messages of the transfer engine (event ids 4100–4199).</summary>
internal static partial class TransferLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Information,
        Message = "Transfer engine uses {Transport} (configured {Configured}): {Reason}")]
    public static partial void TransportSelected(ILogger logger, string transport, string configured, string reason);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information,
        Message = "Peer {Peer} ({EndPoint}) uses transport {Transport}, flow class {FlowClass}, protection {Protection}")]
    public static partial void PeerTransport(ILogger logger, string peer, EndPoint? endPoint, string transport, string flowClass, string protection);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning,
        Message = "Handshake with {EndPoint} failed at stage {Stage}: {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, EndPoint? endPoint, string stage, string reason);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning,
        Message = "Connection to {Peer} over {Transport} lost ({Status}): {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string peer, string transport, string status, string reason);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning,
        Message = "Could not set a socket option on a transfer socket: {Problem}")]
    public static partial void SocketOptionFailed(ILogger logger, string problem);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Information,
        Message = "Re-handshaking with {Peer} ({EndPoint}) after {Status}: generation {Generation}")]
    public static partial void Rehandshake(ILogger logger, string peer, EndPoint endPoint, string status, uint generation);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Information,
        Message = "Transfer listener on {EndPoint} ({Transport})")]
    public static partial void Listening(ILogger logger, EndPoint endPoint, string transport);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning,
        Message = "Refused a transfer connection from {Address} at stage {Stage} ({Reason}): {Detail} [{Suppressed} more refusals of this kind from this address since it was last logged]")]
    public static partial void Refused(ILogger logger, string address, string stage, string reason, string detail, int suppressed);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Warning,
        Message = "Closed the RPC channel with {Peer}: {Reason} limit exceeded ({Detail})")]
    public static partial void RpcLimitExceeded(ILogger logger, string peer, string reason, string detail);
}
