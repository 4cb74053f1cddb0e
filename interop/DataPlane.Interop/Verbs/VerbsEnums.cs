namespace DataPlane.Interop.Verbs;

/// <summary>Memory and queue-pair access rights (enum ibv_access_flags).</summary>
[Flags]
public enum MemoryAccess
{
    /// <summary>Local read only.</summary>
    None = 0,

    /// <summary>IBV_ACCESS_LOCAL_WRITE: the device may write it (receives, READ targets). Required with remote write.</summary>
    LocalWrite = 1,

    /// <summary>IBV_ACCESS_REMOTE_WRITE: peers may RDMA WRITE into it.</summary>
    RemoteWrite = 2,

    /// <summary>IBV_ACCESS_REMOTE_READ: peers may RDMA READ from it.</summary>
    RemoteRead = 4,

    /// <summary>IBV_ACCESS_REMOTE_ATOMIC.</summary>
    RemoteAtomic = 8,

    /// <summary>IBV_ACCESS_RELAXED_ORDERING: optional; dropped by devices without it (needs ibv_reg_mr_iova2, and
    /// is not passed to libraries without it).</summary>
    RelaxedOrdering = 0x100000,
}

/// <summary>Queue pair states (enum ibv_qp_state).</summary>
public enum QueuePairState
{
    /// <summary>IBV_QPS_RESET: just created, or reset.</summary>
    Reset = 0,

    /// <summary>IBV_QPS_INIT: receives may be posted.</summary>
    Init = 1,

    /// <summary>IBV_QPS_RTR: ready to receive.</summary>
    ReadyToReceive = 2,

    /// <summary>IBV_QPS_RTS: ready to send.</summary>
    ReadyToSend = 3,

    /// <summary>IBV_QPS_SQD: send queue drained.</summary>
    SendQueueDrained = 4,

    /// <summary>IBV_QPS_SQE: send queue error.</summary>
    SendQueueError = 5,

    /// <summary>IBV_QPS_ERR: every outstanding and new work request completes with a flush error.</summary>
    Error = 6,
}

/// <summary>Path MTU (enum ibv_mtu).</summary>
public enum Mtu
{
    /// <summary>IBV_MTU_256.</summary>
    Mtu256 = 1,

    /// <summary>IBV_MTU_512.</summary>
    Mtu512 = 2,

    /// <summary>IBV_MTU_1024 (what a 1500-byte Ethernet MTU gives on RoCE).</summary>
    Mtu1024 = 3,

    /// <summary>IBV_MTU_2048.</summary>
    Mtu2048 = 4,

    /// <summary>IBV_MTU_4096 (a 9000-byte Ethernet MTU).</summary>
    Mtu4096 = 5,
}

/// <summary>Logical port state (enum ibv_port_state).</summary>
public enum PortState
{
    /// <summary>IBV_PORT_NOP.</summary>
    Nop = 0,

    /// <summary>IBV_PORT_DOWN.</summary>
    Down = 1,

    /// <summary>IBV_PORT_INIT.</summary>
    Init = 2,

    /// <summary>IBV_PORT_ARMED.</summary>
    Armed = 3,

    /// <summary>IBV_PORT_ACTIVE: usable.</summary>
    Active = 4,

    /// <summary>IBV_PORT_ACTIVE_DEFER.</summary>
    ActiveDefer = 5,
}

/// <summary>Port link layer (IBV_LINK_LAYER_*).</summary>
public enum LinkLayer
{
    /// <summary>IBV_LINK_LAYER_UNSPECIFIED (old kernels; means InfiniBand).</summary>
    Unspecified = 0,

    /// <summary>IBV_LINK_LAYER_INFINIBAND.</summary>
    InfiniBand = 1,

    /// <summary>IBV_LINK_LAYER_ETHERNET: RoCE.</summary>
    Ethernet = 2,
}

/// <summary>GID type (enum ibv_gid_type; sysfs "IB/RoCE v1" or "RoCE v2").</summary>
public enum GidType
{
    /// <summary>Not known (an Ethernet port whose library and sysfs do not say).</summary>
    Unknown = -1,

    /// <summary>IBV_GID_TYPE_IB: an InfiniBand port's GID.</summary>
    InfiniBand = 0,

    /// <summary>IBV_GID_TYPE_ROCE_V1: RoCE over Ethernet frames, not routable.</summary>
    RoceV1 = 1,

    /// <summary>IBV_GID_TYPE_ROCE_V2: RoCE over UDP/IP (port 4791), routable; what DataPlane uses.</summary>
    RoceV2 = 2,
}

/// <summary>Send-queue operations (enum ibv_wr_opcode) this binding posts.</summary>
public enum SendOpcode
{
    /// <summary>IBV_WR_RDMA_WRITE: local buffer → remote memory; the peer sees nothing.</summary>
    RdmaWrite = 0,

    /// <summary>IBV_WR_RDMA_WRITE_WITH_IMM: a write that also consumes a receive at the peer, carrying 32 bits.</summary>
    RdmaWriteWithImmediate = 1,

    /// <summary>IBV_WR_SEND: consumes the peer's next posted receive.</summary>
    Send = 2,

    /// <summary>IBV_WR_SEND_WITH_IMM.</summary>
    SendWithImmediate = 3,

    /// <summary>IBV_WR_RDMA_READ: remote memory → local buffer.</summary>
    RdmaRead = 4,
}

/// <summary>Completion status (enum ibv_wc_status).</summary>
public enum WorkCompletionStatus
{
    /// <summary>IBV_WC_SUCCESS.</summary>
    Success = 0,

    /// <summary>IBV_WC_LOC_LEN_ERR: a receive buffer too small for the message.</summary>
    LocalLengthError = 1,

    /// <summary>IBV_WC_LOC_QP_OP_ERR.</summary>
    LocalQpOperationError = 2,

    /// <summary>IBV_WC_LOC_EEC_OP_ERR.</summary>
    LocalEecOperationError = 3,

    /// <summary>IBV_WC_LOC_PROT_ERR: a local SGE outside its lkey's region or rights.</summary>
    LocalProtectionError = 4,

    /// <summary>IBV_WC_WR_FLUSH_ERR: flushed because the QP is in the error state.</summary>
    WorkRequestFlushError = 5,

    /// <summary>IBV_WC_MW_BIND_ERR.</summary>
    MemoryWindowBindError = 6,

    /// <summary>IBV_WC_BAD_RESP_ERR.</summary>
    BadResponseError = 7,

    /// <summary>IBV_WC_LOC_ACCESS_ERR.</summary>
    LocalAccessError = 8,

    /// <summary>IBV_WC_REM_INV_REQ_ERR: the peer rejected the request (e.g. its receive was too small).</summary>
    RemoteInvalidRequestError = 9,

    /// <summary>IBV_WC_REM_ACCESS_ERR: bad rkey, out-of-range address or missing remote rights.</summary>
    RemoteAccessError = 10,

    /// <summary>IBV_WC_REM_OP_ERR.</summary>
    RemoteOperationError = 11,

    /// <summary>IBV_WC_RETRY_EXC_ERR: the peer did not answer (wrong GID/QPN/PSN, peer gone).</summary>
    RetryExceededError = 12,

    /// <summary>IBV_WC_RNR_RETRY_EXC_ERR: the peer had no receive posted, retries exhausted.</summary>
    RnrRetryExceededError = 13,

    /// <summary>IBV_WC_LOC_RDD_VIOL_ERR.</summary>
    LocalRddViolationError = 14,

    /// <summary>IBV_WC_REM_INV_RD_REQ_ERR.</summary>
    RemoteInvalidRdRequestError = 15,

    /// <summary>IBV_WC_REM_ABORT_ERR.</summary>
    RemoteAbortError = 16,

    /// <summary>IBV_WC_INV_EECN_ERR.</summary>
    InvalidEecnError = 17,

    /// <summary>IBV_WC_INV_EEC_STATE_ERR.</summary>
    InvalidEecStateError = 18,

    /// <summary>IBV_WC_FATAL_ERR.</summary>
    FatalError = 19,

    /// <summary>IBV_WC_RESP_TIMEOUT_ERR.</summary>
    ResponseTimeoutError = 20,

    /// <summary>IBV_WC_GENERAL_ERR.</summary>
    GeneralError = 21,
}

/// <summary>What completed (enum ibv_wc_opcode). Only meaningful when the status is success.</summary>
public enum WorkCompletionOpcode
{
    /// <summary>IBV_WC_SEND.</summary>
    Send = 0,

    /// <summary>IBV_WC_RDMA_WRITE.</summary>
    RdmaWrite = 1,

    /// <summary>IBV_WC_RDMA_READ.</summary>
    RdmaRead = 2,

    /// <summary>IBV_WC_RECV: a receive consumed by a SEND.</summary>
    Receive = 128,

    /// <summary>IBV_WC_RECV_RDMA_WITH_IMM: a receive consumed by an RDMA WRITE with immediate.</summary>
    ReceiveRdmaWithImmediate = 129,
}
