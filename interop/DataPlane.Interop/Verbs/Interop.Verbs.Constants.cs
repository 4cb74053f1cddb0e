namespace DataPlane.Interop;

internal static partial class Interop
{
    internal static partial class Verbs
    {
        // Offsets into objects the library allocates (read only; never allocated from C#). Only pointers precede
        // these fields, so they are the same on x86_64 and aarch64; fields after an embedded pthread_mutex_t are not.
        internal const int ContextDeviceOffset = 0;       // struct ibv_context.device
        internal const int ContextOpsPollCq = 96;         // struct ibv_context.ops.poll_cq
        internal const int ContextOpsReqNotifyCq = 104;   // struct ibv_context.ops.req_notify_cq
        internal const int ContextOpsPostSend = 208;      // struct ibv_context.ops.post_send
        internal const int ContextOpsPostRecv = 216;      // struct ibv_context.ops.post_recv
        internal const int DeviceNameOffset = 24;         // struct ibv_device.name
        internal const int IBV_SYSFS_NAME_MAX = 64;
        internal const int MrAddrOffset = 16;             // struct ibv_mr.addr
        internal const int MrLengthOffset = 24;           // struct ibv_mr.length
        internal const int MrLkeyOffset = 36;             // struct ibv_mr.lkey
        internal const int MrRkeyOffset = 40;             // struct ibv_mr.rkey
        internal const int CqCqeOffset = 28;              // struct ibv_cq.cqe
        internal const int QpQpNumOffset = 52;            // struct ibv_qp.qp_num
        internal const int QpStateOffset = 56;            // struct ibv_qp.state
        internal const int CompChannelFdOffset = 8;       // struct ibv_comp_channel.fd

        /// <summary>Bytes reserved for struct ibv_port_attr: 52 on rdma-core 44, 56 on current releases; the exported
        /// ibv_query_port fills the 48-byte compat prefix.</summary>
        internal const int PortAttrBufferSize = 64;

        /// <summary>sizeof(struct ibv_gid_entry), passed as entry_size to _ibv_query_gid_ex.</summary>
        internal const int GidEntrySize = 32;

        internal const int IBV_QPT_RC = 2;

        internal const int IBV_QP_STATE = 1 << 0;
        internal const int IBV_QP_ACCESS_FLAGS = 1 << 3;
        internal const int IBV_QP_PKEY_INDEX = 1 << 4;
        internal const int IBV_QP_PORT = 1 << 5;
        internal const int IBV_QP_AV = 1 << 7;
        internal const int IBV_QP_PATH_MTU = 1 << 8;
        internal const int IBV_QP_TIMEOUT = 1 << 9;
        internal const int IBV_QP_RETRY_CNT = 1 << 10;
        internal const int IBV_QP_RNR_RETRY = 1 << 11;
        internal const int IBV_QP_RQ_PSN = 1 << 12;
        internal const int IBV_QP_MAX_QP_RD_ATOMIC = 1 << 13;
        internal const int IBV_QP_MIN_RNR_TIMER = 1 << 15;
        internal const int IBV_QP_SQ_PSN = 1 << 16;
        internal const int IBV_QP_MAX_DEST_RD_ATOMIC = 1 << 17;
        internal const int IBV_QP_DEST_QPN = 1 << 20;

        /// <summary>RESET→INIT for RC (ibv_modify_qp(3)).</summary>
        internal const int InitMask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS;

        /// <summary>INIT→RTR for RC.</summary>
        internal const int RtrMask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                                     IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;

        /// <summary>RTR→RTS for RC.</summary>
        internal const int RtsMask = IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                                     IBV_QP_MAX_QP_RD_ATOMIC;

        internal const int IBV_SEND_FENCE = 1;
        internal const int IBV_SEND_SIGNALED = 2;
        internal const int IBV_SEND_SOLICITED = 4;
        internal const int IBV_SEND_INLINE = 8;

        internal const int IBV_WC_WITH_IMM = 2;

        internal const uint IBV_ACCESS_OPTIONAL_RANGE = 0x3ff00000;

        // errno values the verbs return that the shared errno table does not name.
        internal const int ENOSYS = 38;
        internal const int ENODATA = 61;
        internal const int EOVERFLOW = 75;
        internal const int ETIMEDOUT = 110;
        internal const int ECONNREFUSED = 111;
    }
}
