using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DataPlane.Interop.Verbs;
using static DataPlane.Interop.Interop.Verbs;

namespace DataPlane.Interop.Tests.Verbs;

/// <summary>Compiles native/layout/verbs_layout.c against the real &lt;infiniband/verbs.h&gt; and checks every managed
/// verbs structure, offset and constant against it, including the ibv_context.ops slots the data path calls through.</summary>
public class VerbsLayoutTests
{
    private static readonly NativeLayout s_native = new("verbs_layout.c");

    [Fact]
    public void Ops_table_slots_and_object_offsets_match_the_header()
    {
        Assert.Equal(ContextDeviceOffset, Native("offsetof(struct ibv_context,device)"));
        Assert.Equal(ContextOpsPollCq, Native("offsetof(struct ibv_context,ops.poll_cq)"));
        Assert.Equal(ContextOpsReqNotifyCq, Native("offsetof(struct ibv_context,ops.req_notify_cq)"));
        Assert.Equal(ContextOpsPostSend, Native("offsetof(struct ibv_context,ops.post_send)"));
        Assert.Equal(ContextOpsPostRecv, Native("offsetof(struct ibv_context,ops.post_recv)"));
        Assert.Equal(DeviceNameOffset, Native("offsetof(struct ibv_device,name)"));
        Assert.Equal(IBV_SYSFS_NAME_MAX, Native("IBV_SYSFS_NAME_MAX"));
        Assert.Equal(MrAddrOffset, Native("offsetof(struct ibv_mr,addr)"));
        Assert.Equal(MrLengthOffset, Native("offsetof(struct ibv_mr,length)"));
        Assert.Equal(MrLkeyOffset, Native("offsetof(struct ibv_mr,lkey)"));
        Assert.Equal(MrRkeyOffset, Native("offsetof(struct ibv_mr,rkey)"));
        Assert.Equal(CqCqeOffset, Native("offsetof(struct ibv_cq,cqe)"));
        Assert.Equal(QpQpNumOffset, Native("offsetof(struct ibv_qp,qp_num)"));
        Assert.Equal(QpStateOffset, Native("offsetof(struct ibv_qp,state)"));
        Assert.Equal(CompChannelFdOffset, Native("offsetof(struct ibv_comp_channel,fd)"));
        // The data path reads qp->context, cq->context and mr->pd as the first pointers.
        Assert.Equal(0, Native("offsetof(struct ibv_qp,context)"));
        Assert.Equal(0, Native("offsetof(struct ibv_cq,context)"));
    }

    [Fact]
    public void Work_request_and_completion_structs_match()
    {
        AssertSize<IbvSge>("struct ibv_sge");
        AssertOffset<IbvSge>("struct ibv_sge", "addr", nameof(IbvSge.Addr));
        AssertOffset<IbvSge>("struct ibv_sge", "length", nameof(IbvSge.Length));
        AssertOffset<IbvSge>("struct ibv_sge", "lkey", nameof(IbvSge.Lkey));

        AssertSize<IbvSendWr>("struct ibv_send_wr");
        AssertOffset<IbvSendWr>("struct ibv_send_wr", "wr_id", nameof(IbvSendWr.WrId));
        AssertOffset<IbvSendWr>("struct ibv_send_wr", "next", nameof(IbvSendWr.Next));
        AssertOffset<IbvSendWr>("struct ibv_send_wr", "sg_list", nameof(IbvSendWr.SgList));
        AssertOffset<IbvSendWr>("struct ibv_send_wr", "num_sge", nameof(IbvSendWr.NumSge));
        AssertOffset<IbvSendWr>("struct ibv_send_wr", "opcode", nameof(IbvSendWr.Opcode));
        AssertOffset<IbvSendWr>("struct ibv_send_wr", "send_flags", nameof(IbvSendWr.SendFlags));
        AssertOffset<IbvSendWr>("struct ibv_send_wr", "imm_data", nameof(IbvSendWr.ImmData));
        AssertOffset<IbvSendWr>("struct ibv_send_wr", "wr.rdma.remote_addr", nameof(IbvSendWr.RdmaRemoteAddr));
        AssertOffset<IbvSendWr>("struct ibv_send_wr", "wr.rdma.rkey", nameof(IbvSendWr.RdmaRkey));

        AssertSize<IbvRecvWr>("struct ibv_recv_wr");
        AssertOffset<IbvRecvWr>("struct ibv_recv_wr", "wr_id", nameof(IbvRecvWr.WrId));
        AssertOffset<IbvRecvWr>("struct ibv_recv_wr", "next", nameof(IbvRecvWr.Next));
        AssertOffset<IbvRecvWr>("struct ibv_recv_wr", "sg_list", nameof(IbvRecvWr.SgList));
        AssertOffset<IbvRecvWr>("struct ibv_recv_wr", "num_sge", nameof(IbvRecvWr.NumSge));

        AssertSize<IbvWc>("struct ibv_wc");
        AssertOffset<IbvWc>("struct ibv_wc", "wr_id", nameof(IbvWc.WrId));
        AssertOffset<IbvWc>("struct ibv_wc", "status", nameof(IbvWc.Status));
        AssertOffset<IbvWc>("struct ibv_wc", "opcode", nameof(IbvWc.Opcode));
        AssertOffset<IbvWc>("struct ibv_wc", "vendor_err", nameof(IbvWc.VendorErr));
        AssertOffset<IbvWc>("struct ibv_wc", "byte_len", nameof(IbvWc.ByteLen));
        AssertOffset<IbvWc>("struct ibv_wc", "imm_data", nameof(IbvWc.ImmData));
        AssertOffset<IbvWc>("struct ibv_wc", "qp_num", nameof(IbvWc.QpNum));
        AssertOffset<IbvWc>("struct ibv_wc", "src_qp", nameof(IbvWc.SrcQp));
        AssertOffset<IbvWc>("struct ibv_wc", "wc_flags", nameof(IbvWc.WcFlags));
    }

    [Fact]
    public void Queue_pair_attribute_structs_match()
    {
        AssertSize<IbvQpCap>("struct ibv_qp_cap");
        AssertOffset<IbvQpCap>("struct ibv_qp_cap", "max_send_wr", nameof(IbvQpCap.MaxSendWr));
        AssertOffset<IbvQpCap>("struct ibv_qp_cap", "max_recv_wr", nameof(IbvQpCap.MaxRecvWr));
        AssertOffset<IbvQpCap>("struct ibv_qp_cap", "max_send_sge", nameof(IbvQpCap.MaxSendSge));
        AssertOffset<IbvQpCap>("struct ibv_qp_cap", "max_recv_sge", nameof(IbvQpCap.MaxRecvSge));
        AssertOffset<IbvQpCap>("struct ibv_qp_cap", "max_inline_data", nameof(IbvQpCap.MaxInlineData));

        AssertSize<IbvQpInitAttr>("struct ibv_qp_init_attr");
        AssertOffset<IbvQpInitAttr>("struct ibv_qp_init_attr", "qp_context", nameof(IbvQpInitAttr.QpContext));
        AssertOffset<IbvQpInitAttr>("struct ibv_qp_init_attr", "send_cq", nameof(IbvQpInitAttr.SendCq));
        AssertOffset<IbvQpInitAttr>("struct ibv_qp_init_attr", "recv_cq", nameof(IbvQpInitAttr.RecvCq));
        AssertOffset<IbvQpInitAttr>("struct ibv_qp_init_attr", "srq", nameof(IbvQpInitAttr.Srq));
        AssertOffset<IbvQpInitAttr>("struct ibv_qp_init_attr", "cap", nameof(IbvQpInitAttr.Cap));
        AssertOffset<IbvQpInitAttr>("struct ibv_qp_init_attr", "qp_type", nameof(IbvQpInitAttr.QpType));
        AssertOffset<IbvQpInitAttr>("struct ibv_qp_init_attr", "sq_sig_all", nameof(IbvQpInitAttr.SqSigAll));

        AssertSize<IbvGlobalRoute>("struct ibv_global_route");
        AssertOffset<IbvGlobalRoute>("struct ibv_global_route", "dgid", nameof(IbvGlobalRoute.Dgid));
        AssertOffset<IbvGlobalRoute>("struct ibv_global_route", "flow_label", nameof(IbvGlobalRoute.FlowLabel));
        AssertOffset<IbvGlobalRoute>("struct ibv_global_route", "sgid_index", nameof(IbvGlobalRoute.SgidIndex));
        AssertOffset<IbvGlobalRoute>("struct ibv_global_route", "hop_limit", nameof(IbvGlobalRoute.HopLimit));
        AssertOffset<IbvGlobalRoute>("struct ibv_global_route", "traffic_class", nameof(IbvGlobalRoute.TrafficClass));

        AssertSize<IbvAhAttr>("struct ibv_ah_attr");
        AssertOffset<IbvAhAttr>("struct ibv_ah_attr", "grh", nameof(IbvAhAttr.Grh));
        AssertOffset<IbvAhAttr>("struct ibv_ah_attr", "dlid", nameof(IbvAhAttr.Dlid));
        AssertOffset<IbvAhAttr>("struct ibv_ah_attr", "sl", nameof(IbvAhAttr.Sl));
        AssertOffset<IbvAhAttr>("struct ibv_ah_attr", "src_path_bits", nameof(IbvAhAttr.SrcPathBits));
        AssertOffset<IbvAhAttr>("struct ibv_ah_attr", "static_rate", nameof(IbvAhAttr.StaticRate));
        AssertOffset<IbvAhAttr>("struct ibv_ah_attr", "is_global", nameof(IbvAhAttr.IsGlobal));
        AssertOffset<IbvAhAttr>("struct ibv_ah_attr", "port_num", nameof(IbvAhAttr.PortNum));

        AssertSize<IbvQpAttr>("struct ibv_qp_attr");
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "qp_state", nameof(IbvQpAttr.QpState));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "cur_qp_state", nameof(IbvQpAttr.CurQpState));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "path_mtu", nameof(IbvQpAttr.PathMtu));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "qkey", nameof(IbvQpAttr.Qkey));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "rq_psn", nameof(IbvQpAttr.RqPsn));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "sq_psn", nameof(IbvQpAttr.SqPsn));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "dest_qp_num", nameof(IbvQpAttr.DestQpNum));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "qp_access_flags", nameof(IbvQpAttr.QpAccessFlags));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "cap", nameof(IbvQpAttr.Cap));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "ah_attr", nameof(IbvQpAttr.AhAttr));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "alt_ah_attr", nameof(IbvQpAttr.AltAhAttr));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "pkey_index", nameof(IbvQpAttr.PkeyIndex));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "max_rd_atomic", nameof(IbvQpAttr.MaxRdAtomic));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "max_dest_rd_atomic", nameof(IbvQpAttr.MaxDestRdAtomic));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "min_rnr_timer", nameof(IbvQpAttr.MinRnrTimer));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "port_num", nameof(IbvQpAttr.PortNum));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "timeout", nameof(IbvQpAttr.Timeout));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "retry_cnt", nameof(IbvQpAttr.RetryCnt));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "rnr_retry", nameof(IbvQpAttr.RnrRetry));
        AssertOffset<IbvQpAttr>("struct ibv_qp_attr", "rate_limit", nameof(IbvQpAttr.RateLimit));
    }

    [Fact]
    public void Device_port_and_gid_structs_match()
    {
        AssertSize<IbvDeviceAttr>("struct ibv_device_attr");
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "fw_ver", nameof(IbvDeviceAttr.FwVer));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "node_guid", nameof(IbvDeviceAttr.NodeGuid));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "sys_image_guid", nameof(IbvDeviceAttr.SysImageGuid));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_mr_size", nameof(IbvDeviceAttr.MaxMrSize));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "vendor_id", nameof(IbvDeviceAttr.VendorId));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "vendor_part_id", nameof(IbvDeviceAttr.VendorPartId));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_qp", nameof(IbvDeviceAttr.MaxQp));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_qp_wr", nameof(IbvDeviceAttr.MaxQpWr));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_sge", nameof(IbvDeviceAttr.MaxSge));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_cq", nameof(IbvDeviceAttr.MaxCq));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_cqe", nameof(IbvDeviceAttr.MaxCqe));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_mr", nameof(IbvDeviceAttr.MaxMr));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_pd", nameof(IbvDeviceAttr.MaxPd));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_qp_rd_atom", nameof(IbvDeviceAttr.MaxQpRdAtom));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "max_qp_init_rd_atom", nameof(IbvDeviceAttr.MaxQpInitRdAtom));
        AssertOffset<IbvDeviceAttr>("struct ibv_device_attr", "phys_port_cnt", nameof(IbvDeviceAttr.PhysPortCnt));

        // The managed buffer is larger than any rdma-core's struct, and the compat prefix sits where it always has.
        Assert.True(Native("sizeof(struct ibv_port_attr)") <= Unsafe.SizeOf<IbvPortAttr>());
        Assert.Equal(48, Native("offsetof(struct ibv_port_attr,port_cap_flags2)"));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "state", nameof(IbvPortAttr.State));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "max_mtu", nameof(IbvPortAttr.MaxMtu));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "active_mtu", nameof(IbvPortAttr.ActiveMtu));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "gid_tbl_len", nameof(IbvPortAttr.GidTblLen));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "port_cap_flags", nameof(IbvPortAttr.PortCapFlags));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "max_msg_sz", nameof(IbvPortAttr.MaxMsgSz));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "lid", nameof(IbvPortAttr.Lid));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "active_width", nameof(IbvPortAttr.ActiveWidth));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "active_speed", nameof(IbvPortAttr.ActiveSpeed));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "phys_state", nameof(IbvPortAttr.PhysState));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "link_layer", nameof(IbvPortAttr.LinkLayer));
        AssertOffset<IbvPortAttr>("struct ibv_port_attr", "flags", nameof(IbvPortAttr.Flags));

        Assert.Equal(VerbsGid.Size, Native("sizeof(union ibv_gid)"));
        AssertSize<IbvGidEntry>("struct ibv_gid_entry");
        Assert.Equal(GidEntrySize, Native("sizeof(struct ibv_gid_entry)"));
        AssertOffset<IbvGidEntry>("struct ibv_gid_entry", "gid", nameof(IbvGidEntry.Gid));
        AssertOffset<IbvGidEntry>("struct ibv_gid_entry", "gid_index", nameof(IbvGidEntry.GidIndex));
        AssertOffset<IbvGidEntry>("struct ibv_gid_entry", "port_num", nameof(IbvGidEntry.PortNum));
        AssertOffset<IbvGidEntry>("struct ibv_gid_entry", "gid_type", nameof(IbvGidEntry.GidType));
        AssertOffset<IbvGidEntry>("struct ibv_gid_entry", "ndev_ifindex", nameof(IbvGidEntry.NdevIfindex));
    }

    [Fact]
    public void Constants_and_enumerations_match_the_header()
    {
        Assert.Equal((long)MemoryAccess.LocalWrite, Native("IBV_ACCESS_LOCAL_WRITE"));
        Assert.Equal((long)MemoryAccess.RemoteWrite, Native("IBV_ACCESS_REMOTE_WRITE"));
        Assert.Equal((long)MemoryAccess.RemoteRead, Native("IBV_ACCESS_REMOTE_READ"));
        Assert.Equal((long)MemoryAccess.RemoteAtomic, Native("IBV_ACCESS_REMOTE_ATOMIC"));
        Assert.Equal((long)MemoryAccess.RelaxedOrdering, Native("IBV_ACCESS_RELAXED_ORDERING"));
        Assert.NotEqual(0, (long)MemoryAccess.RelaxedOrdering & IBV_ACCESS_OPTIONAL_RANGE);

        Assert.Equal(IBV_QPT_RC, Native("IBV_QPT_RC"));
        Assert.Equal((long)QueuePairState.Reset, Native("IBV_QPS_RESET"));
        Assert.Equal((long)QueuePairState.Init, Native("IBV_QPS_INIT"));
        Assert.Equal((long)QueuePairState.ReadyToReceive, Native("IBV_QPS_RTR"));
        Assert.Equal((long)QueuePairState.ReadyToSend, Native("IBV_QPS_RTS"));
        Assert.Equal((long)QueuePairState.SendQueueDrained, Native("IBV_QPS_SQD"));
        Assert.Equal((long)QueuePairState.SendQueueError, Native("IBV_QPS_SQE"));
        Assert.Equal((long)QueuePairState.Error, Native("IBV_QPS_ERR"));

        Assert.Equal(IBV_QP_STATE, Native("IBV_QP_STATE"));
        Assert.Equal(IBV_QP_ACCESS_FLAGS, Native("IBV_QP_ACCESS_FLAGS"));
        Assert.Equal(IBV_QP_PKEY_INDEX, Native("IBV_QP_PKEY_INDEX"));
        Assert.Equal(IBV_QP_PORT, Native("IBV_QP_PORT"));
        Assert.Equal(IBV_QP_AV, Native("IBV_QP_AV"));
        Assert.Equal(IBV_QP_PATH_MTU, Native("IBV_QP_PATH_MTU"));
        Assert.Equal(IBV_QP_TIMEOUT, Native("IBV_QP_TIMEOUT"));
        Assert.Equal(IBV_QP_RETRY_CNT, Native("IBV_QP_RETRY_CNT"));
        Assert.Equal(IBV_QP_RNR_RETRY, Native("IBV_QP_RNR_RETRY"));
        Assert.Equal(IBV_QP_RQ_PSN, Native("IBV_QP_RQ_PSN"));
        Assert.Equal(IBV_QP_MAX_QP_RD_ATOMIC, Native("IBV_QP_MAX_QP_RD_ATOMIC"));
        Assert.Equal(IBV_QP_MIN_RNR_TIMER, Native("IBV_QP_MIN_RNR_TIMER"));
        Assert.Equal(IBV_QP_SQ_PSN, Native("IBV_QP_SQ_PSN"));
        Assert.Equal(IBV_QP_MAX_DEST_RD_ATOMIC, Native("IBV_QP_MAX_DEST_RD_ATOMIC"));
        Assert.Equal(IBV_QP_DEST_QPN, Native("IBV_QP_DEST_QPN"));

        Assert.Equal((long)SendOpcode.RdmaWrite, Native("IBV_WR_RDMA_WRITE"));
        Assert.Equal((long)SendOpcode.RdmaWriteWithImmediate, Native("IBV_WR_RDMA_WRITE_WITH_IMM"));
        Assert.Equal((long)SendOpcode.Send, Native("IBV_WR_SEND"));
        Assert.Equal((long)SendOpcode.SendWithImmediate, Native("IBV_WR_SEND_WITH_IMM"));
        Assert.Equal((long)SendOpcode.RdmaRead, Native("IBV_WR_RDMA_READ"));
        Assert.Equal(IBV_SEND_FENCE, Native("IBV_SEND_FENCE"));
        Assert.Equal(IBV_SEND_SIGNALED, Native("IBV_SEND_SIGNALED"));
        Assert.Equal(IBV_SEND_SOLICITED, Native("IBV_SEND_SOLICITED"));
        Assert.Equal(IBV_SEND_INLINE, Native("IBV_SEND_INLINE"));

        (string Name, WorkCompletionStatus Value)[] statuses =
        [
            ("IBV_WC_SUCCESS", WorkCompletionStatus.Success), ("IBV_WC_LOC_LEN_ERR", WorkCompletionStatus.LocalLengthError),
            ("IBV_WC_LOC_QP_OP_ERR", WorkCompletionStatus.LocalQpOperationError), ("IBV_WC_LOC_EEC_OP_ERR", WorkCompletionStatus.LocalEecOperationError),
            ("IBV_WC_LOC_PROT_ERR", WorkCompletionStatus.LocalProtectionError), ("IBV_WC_WR_FLUSH_ERR", WorkCompletionStatus.WorkRequestFlushError),
            ("IBV_WC_MW_BIND_ERR", WorkCompletionStatus.MemoryWindowBindError), ("IBV_WC_BAD_RESP_ERR", WorkCompletionStatus.BadResponseError),
            ("IBV_WC_LOC_ACCESS_ERR", WorkCompletionStatus.LocalAccessError), ("IBV_WC_REM_INV_REQ_ERR", WorkCompletionStatus.RemoteInvalidRequestError),
            ("IBV_WC_REM_ACCESS_ERR", WorkCompletionStatus.RemoteAccessError), ("IBV_WC_REM_OP_ERR", WorkCompletionStatus.RemoteOperationError),
            ("IBV_WC_RETRY_EXC_ERR", WorkCompletionStatus.RetryExceededError), ("IBV_WC_RNR_RETRY_EXC_ERR", WorkCompletionStatus.RnrRetryExceededError),
            ("IBV_WC_LOC_RDD_VIOL_ERR", WorkCompletionStatus.LocalRddViolationError), ("IBV_WC_REM_INV_RD_REQ_ERR", WorkCompletionStatus.RemoteInvalidRdRequestError),
            ("IBV_WC_REM_ABORT_ERR", WorkCompletionStatus.RemoteAbortError), ("IBV_WC_INV_EECN_ERR", WorkCompletionStatus.InvalidEecnError),
            ("IBV_WC_INV_EEC_STATE_ERR", WorkCompletionStatus.InvalidEecStateError), ("IBV_WC_FATAL_ERR", WorkCompletionStatus.FatalError),
            ("IBV_WC_RESP_TIMEOUT_ERR", WorkCompletionStatus.ResponseTimeoutError), ("IBV_WC_GENERAL_ERR", WorkCompletionStatus.GeneralError),
        ];
        foreach (var (name, value) in statuses)
        {
            Assert.Equal(Native(name), (long)value);
            Assert.Equal(name, StatusNames.Of(value));
        }

        Assert.Equal((long)WorkCompletionOpcode.Send, Native("IBV_WC_SEND"));
        Assert.Equal((long)WorkCompletionOpcode.RdmaWrite, Native("IBV_WC_RDMA_WRITE"));
        Assert.Equal((long)WorkCompletionOpcode.RdmaRead, Native("IBV_WC_RDMA_READ"));
        Assert.Equal((long)WorkCompletionOpcode.Receive, Native("IBV_WC_RECV"));
        Assert.Equal((long)WorkCompletionOpcode.ReceiveRdmaWithImmediate, Native("IBV_WC_RECV_RDMA_WITH_IMM"));
        Assert.Equal(IBV_WC_WITH_IMM, Native("IBV_WC_WITH_IMM"));

        Assert.Equal((long)Mtu.Mtu256, Native("IBV_MTU_256"));
        Assert.Equal((long)Mtu.Mtu512, Native("IBV_MTU_512"));
        Assert.Equal((long)Mtu.Mtu1024, Native("IBV_MTU_1024"));
        Assert.Equal((long)Mtu.Mtu2048, Native("IBV_MTU_2048"));
        Assert.Equal((long)Mtu.Mtu4096, Native("IBV_MTU_4096"));
        Assert.Equal((long)PortState.Nop, Native("IBV_PORT_NOP"));
        Assert.Equal((long)PortState.Down, Native("IBV_PORT_DOWN"));
        Assert.Equal((long)PortState.Init, Native("IBV_PORT_INIT"));
        Assert.Equal((long)PortState.Armed, Native("IBV_PORT_ARMED"));
        Assert.Equal((long)PortState.Active, Native("IBV_PORT_ACTIVE"));
        Assert.Equal((long)PortState.ActiveDefer, Native("IBV_PORT_ACTIVE_DEFER"));
        Assert.Equal((long)LinkLayer.Unspecified, Native("IBV_LINK_LAYER_UNSPECIFIED"));
        Assert.Equal((long)LinkLayer.InfiniBand, Native("IBV_LINK_LAYER_INFINIBAND"));
        Assert.Equal((long)LinkLayer.Ethernet, Native("IBV_LINK_LAYER_ETHERNET"));
        Assert.Equal((long)GidType.InfiniBand, Native("IBV_GID_TYPE_IB"));
        Assert.Equal((long)GidType.RoceV1, Native("IBV_GID_TYPE_ROCE_V1"));
        Assert.Equal((long)GidType.RoceV2, Native("IBV_GID_TYPE_ROCE_V2"));

        Assert.Equal(
            RtrMask,
            Native("IBV_QP_STATE") | Native("IBV_QP_AV") | Native("IBV_QP_PATH_MTU") | Native("IBV_QP_DEST_QPN") | Native("IBV_QP_RQ_PSN")
                | Native("IBV_QP_MAX_DEST_RD_ATOMIC") | Native("IBV_QP_MIN_RNR_TIMER"));
    }

    private static long Native(string name) => s_native.Value(name);

    private static void AssertSize<T>(string cType)
        where T : unmanaged
    {
        Assert.Equal(Native($"sizeof({cType})"), Unsafe.SizeOf<T>());
        Assert.Equal(Native($"sizeof({cType})"), Marshal.SizeOf<T>());
    }

    private static void AssertOffset<T>(string cType, string cField, string field) =>
        Assert.Equal(Native($"offsetof({cType},{cField})"), (long)Marshal.OffsetOf<T>(field));
}
