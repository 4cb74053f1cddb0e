namespace DataPlane.Interop.Verbs;

/// <summary>One completion (struct ibv_wc). For an error status only <see cref="WorkRequestId"/>, <see cref="Status"/>,
/// <see cref="QpNumber"/> and <see cref="VendorError"/> are meaningful.</summary>
public readonly record struct WorkCompletion
{
    internal WorkCompletion(in Interop.Verbs.IbvWc wc)
    {
        WorkRequestId = wc.WrId;
        Status = (WorkCompletionStatus)wc.Status;
        Opcode = (WorkCompletionOpcode)wc.Opcode;
        VendorError = wc.VendorErr;
        ByteLength = wc.ByteLen;
        Immediate = wc.ImmData;
        QpNumber = wc.QpNum;
        SourceQp = wc.SrcQp;
        HasImmediate = (wc.WcFlags & Interop.Verbs.IBV_WC_WITH_IMM) != 0;
    }

    /// <summary>The wr_id given when the request was posted.</summary>
    public ulong WorkRequestId { get; init; }

    /// <summary>The outcome.</summary>
    public WorkCompletionStatus Status { get; init; }

    /// <summary>What completed.</summary>
    public WorkCompletionOpcode Opcode { get; init; }

    /// <summary>Provider-specific detail of an error.</summary>
    public uint VendorError { get; init; }

    /// <summary>Bytes received (receives) or transferred (RDMA READ).</summary>
    public uint ByteLength { get; init; }

    /// <summary>The 32-bit immediate value exactly as the sender posted it, when <see cref="HasImmediate"/>.</summary>
    public uint Immediate { get; init; }

    /// <summary>Whether the message carried an immediate value.</summary>
    public bool HasImmediate { get; init; }

    /// <summary>The local QP the request belonged to.</summary>
    public uint QpNumber { get; init; }

    /// <summary>For receives: the sending QP.</summary>
    public uint SourceQp { get; init; }

    /// <summary>Whether <see cref="Status"/> is success.</summary>
    public bool IsSuccess => Status == WorkCompletionStatus.Success;

    /// <summary>The C name of the status, e.g. "IBV_WC_REM_ACCESS_ERR".</summary>
    public string StatusName => StatusNames.Of(Status);
}

/// <summary>C names of completion statuses, for logs and metric labels (no allocation).</summary>
public static class StatusNames
{
    /// <summary>The C enumerator name, e.g. "IBV_WC_WR_FLUSH_ERR"; "IBV_WC_&lt;n&gt;" for a value it does not know.</summary>
    public static string Of(WorkCompletionStatus status) => status switch
    {
        WorkCompletionStatus.Success => "IBV_WC_SUCCESS",
        WorkCompletionStatus.LocalLengthError => "IBV_WC_LOC_LEN_ERR",
        WorkCompletionStatus.LocalQpOperationError => "IBV_WC_LOC_QP_OP_ERR",
        WorkCompletionStatus.LocalEecOperationError => "IBV_WC_LOC_EEC_OP_ERR",
        WorkCompletionStatus.LocalProtectionError => "IBV_WC_LOC_PROT_ERR",
        WorkCompletionStatus.WorkRequestFlushError => "IBV_WC_WR_FLUSH_ERR",
        WorkCompletionStatus.MemoryWindowBindError => "IBV_WC_MW_BIND_ERR",
        WorkCompletionStatus.BadResponseError => "IBV_WC_BAD_RESP_ERR",
        WorkCompletionStatus.LocalAccessError => "IBV_WC_LOC_ACCESS_ERR",
        WorkCompletionStatus.RemoteInvalidRequestError => "IBV_WC_REM_INV_REQ_ERR",
        WorkCompletionStatus.RemoteAccessError => "IBV_WC_REM_ACCESS_ERR",
        WorkCompletionStatus.RemoteOperationError => "IBV_WC_REM_OP_ERR",
        WorkCompletionStatus.RetryExceededError => "IBV_WC_RETRY_EXC_ERR",
        WorkCompletionStatus.RnrRetryExceededError => "IBV_WC_RNR_RETRY_EXC_ERR",
        WorkCompletionStatus.LocalRddViolationError => "IBV_WC_LOC_RDD_VIOL_ERR",
        WorkCompletionStatus.RemoteInvalidRdRequestError => "IBV_WC_REM_INV_RD_REQ_ERR",
        WorkCompletionStatus.RemoteAbortError => "IBV_WC_REM_ABORT_ERR",
        WorkCompletionStatus.InvalidEecnError => "IBV_WC_INV_EECN_ERR",
        WorkCompletionStatus.InvalidEecStateError => "IBV_WC_INV_EEC_STATE_ERR",
        WorkCompletionStatus.FatalError => "IBV_WC_FATAL_ERR",
        WorkCompletionStatus.ResponseTimeoutError => "IBV_WC_RESP_TIMEOUT_ERR",
        WorkCompletionStatus.GeneralError => "IBV_WC_GENERAL_ERR",
        _ => "IBV_WC_" + ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
