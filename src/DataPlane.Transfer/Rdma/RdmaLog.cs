using Microsoft.Extensions.Logging;

namespace DataPlane.Transfer.Rdma;

/// <summary>Log messages of the RDMA transport (event ids 4150–4169, inside the transfer engine's 4100–4199).</summary>
internal static partial class RdmaLog
{
    [LoggerMessage(EventId = 4150, Level = LogLevel.Information, Message = "RDMA transport unavailable: {Reason}")]
    public static partial void Unavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 4151, Level = LogLevel.Information, Message = "RDMA transport opened: {Selection}")]
    public static partial void Opened(ILogger logger, string selection);

    [LoggerMessage(EventId = 4152, Level = LogLevel.Debug, Message = "RDMA candidate passed over: {Rejection}")]
    public static partial void Rejected(ILogger logger, string rejection);
}
