namespace DataPlane.Transfer.Abstractions;

/// <summary>Why a transfer or a connection failed. The RDMA transport maps <c>ibv_wc_status</c> onto these
/// (<see cref="TransferStatusNames.FromWorkCompletionStatus"/>); the TCP transport produces the same values for
/// the same situations, so callers handle one set of outcomes.</summary>
public enum TransferStatus
{
    /// <summary>Completed.</summary>
    Success = 0,

    /// <summary>The peer refused the access: unknown key (rkey), range outside the region, or a region that does
    /// not allow the operation (IBV_WC_REM_ACCESS_ERR). The connection keeps working on TCP; an RDMA QP goes to
    /// the error state and needs a re-handshake.</summary>
    RemoteAccessError,

    /// <summary>The peer could not take the request, e.g. a message larger than its receive buffers
    /// (IBV_WC_REM_INV_REQ_ERR).</summary>
    RemoteInvalidRequest,

    /// <summary>The peer failed while executing the request (IBV_WC_REM_OP_ERR).</summary>
    RemoteOperationError,

    /// <summary>A local buffer was too small or outside its registration (IBV_WC_LOC_LEN_ERR, LOC_PROT_ERR).</summary>
    LocalError,

    /// <summary>No completion within the operation timeout (or the NIC's retries ran out: IBV_WC_RETRY_EXC_ERR,
    /// RNR_RETRY_EXC_ERR, RESP_TIMEOUT_ERR).</summary>
    Timeout,

    /// <summary>The connection broke (peer gone, reset, protocol error) while the operation was pending.</summary>
    ConnectionLost,

    /// <summary>The operation was flushed because an earlier one put the connection in error (IBV_WC_WR_FLUSH_ERR).</summary>
    Flushed,

    /// <summary>The connection was closed locally while the operation was pending.</summary>
    Closed,

    /// <summary>Connection set-up failed; <see cref="TransferException.Stage"/> says where.</summary>
    HandshakeFailed,

    /// <summary>No usable transport (for example RDMA forced by configuration but no device).</summary>
    Unavailable,

    /// <summary>Anything else (IBV_WC_GENERAL_ERR, FATAL_ERR, …).</summary>
    GeneralError,
}

/// <summary>Metric-label names and the verbs status mapping.</summary>
public static class TransferStatusNames
{
    /// <summary>The snake_case name used in metric labels and logs.</summary>
    public static string Name(this TransferStatus status) => status switch
    {
        TransferStatus.Success => "success",
        TransferStatus.RemoteAccessError => "remote_access_error",
        TransferStatus.RemoteInvalidRequest => "remote_invalid_request",
        TransferStatus.RemoteOperationError => "remote_operation_error",
        TransferStatus.LocalError => "local_error",
        TransferStatus.Timeout => "timeout",
        TransferStatus.ConnectionLost => "connection_lost",
        TransferStatus.Flushed => "flushed",
        TransferStatus.Closed => "closed",
        TransferStatus.HandshakeFailed => "handshake_failed",
        TransferStatus.Unavailable => "unavailable",
        _ => "general_error",
    };

    /// <summary>The status of an operation that did not run because the connection had already failed with
    /// <paramref name="fault"/>, whether it was pending then or submitted afterwards: a closed or lost connection
    /// says so; after an operation's own error the others are <see cref="TransferStatus.Flushed"/>, as a queue
    /// pair in error flushes every work request posted to it.</summary>
    public static TransferStatus ForOperationsAfter(TransferStatus fault) =>
        fault is TransferStatus.Closed or TransferStatus.ConnectionLost ? fault : TransferStatus.Flushed;

    /// <summary>Maps an <c>ibv_wc_status</c> value (rdma-core verbs.h) to a status.</summary>
    public static TransferStatus FromWorkCompletionStatus(int wcStatus) => wcStatus switch
    {
        0 => TransferStatus.Success,
        1 or 2 or 4 or 8 => TransferStatus.LocalError,     // LOC_LEN, LOC_QP_OP, LOC_PROT, LOC_ACCESS
        5 => TransferStatus.Flushed,                       // WR_FLUSH_ERR
        9 => TransferStatus.RemoteInvalidRequest,          // REM_INV_REQ_ERR
        10 => TransferStatus.RemoteAccessError,            // REM_ACCESS_ERR
        11 => TransferStatus.RemoteOperationError,         // REM_OP_ERR
        12 or 13 or 20 => TransferStatus.Timeout,          // RETRY_EXC, RNR_RETRY_EXC, RESP_TIMEOUT
        _ => TransferStatus.GeneralError,
    };
}
