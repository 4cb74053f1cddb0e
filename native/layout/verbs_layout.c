/*
 * Prints the sizes, field offsets and constants of the libibverbs ABI that DataPlane.Interop declares (Verbs/), as
 * "name value" lines, compiled against the real <infiniband/verbs.h> (libibverbs-dev). The interop tests compare
 * every line with the managed declarations, including the ibv_context.ops slots through which the data-path verbs
 * (static inline in verbs.h) are called.
 */
#define _GNU_SOURCE
#include <infiniband/verbs.h>
#include <stddef.h>
#include <stdio.h>

#define SIZE(t) printf("sizeof(" #t ") %zu\n", sizeof(t))
#define OFFSET(t, f) printf("offsetof(" #t "," #f ") %zu\n", offsetof(t, f))
#define CONST(c) printf(#c " %ld\n", (long)(c))

int main(void)
{
    /* Opaque objects: only leading fields are read, through pointers the library returns. */
    OFFSET(struct ibv_context, device);
    OFFSET(struct ibv_context, ops.poll_cq);
    OFFSET(struct ibv_context, ops.req_notify_cq);
    OFFSET(struct ibv_context, ops.post_send);
    OFFSET(struct ibv_context, ops.post_recv);
    OFFSET(struct ibv_device, name);
    CONST(IBV_SYSFS_NAME_MAX);
    OFFSET(struct ibv_pd, context);
    OFFSET(struct ibv_mr, context);
    OFFSET(struct ibv_mr, pd);
    OFFSET(struct ibv_mr, addr);
    OFFSET(struct ibv_mr, length);
    OFFSET(struct ibv_mr, lkey);
    OFFSET(struct ibv_mr, rkey);
    OFFSET(struct ibv_cq, context);
    OFFSET(struct ibv_cq, channel);
    OFFSET(struct ibv_cq, cq_context);
    OFFSET(struct ibv_cq, cqe);
    OFFSET(struct ibv_qp, context);
    OFFSET(struct ibv_qp, qp_num);
    OFFSET(struct ibv_qp, state);
    OFFSET(struct ibv_comp_channel, context);
    OFFSET(struct ibv_comp_channel, fd);

    SIZE(struct ibv_device_attr);
    OFFSET(struct ibv_device_attr, fw_ver);
    OFFSET(struct ibv_device_attr, node_guid);
    OFFSET(struct ibv_device_attr, sys_image_guid);
    OFFSET(struct ibv_device_attr, max_mr_size);
    OFFSET(struct ibv_device_attr, vendor_id);
    OFFSET(struct ibv_device_attr, vendor_part_id);
    OFFSET(struct ibv_device_attr, max_qp);
    OFFSET(struct ibv_device_attr, max_qp_wr);
    OFFSET(struct ibv_device_attr, max_sge);
    OFFSET(struct ibv_device_attr, max_cq);
    OFFSET(struct ibv_device_attr, max_cqe);
    OFFSET(struct ibv_device_attr, max_mr);
    OFFSET(struct ibv_device_attr, max_pd);
    OFFSET(struct ibv_device_attr, max_qp_rd_atom);
    OFFSET(struct ibv_device_attr, max_qp_init_rd_atom);
    OFFSET(struct ibv_device_attr, phys_port_cnt);

    SIZE(struct ibv_port_attr);
    OFFSET(struct ibv_port_attr, state);
    OFFSET(struct ibv_port_attr, max_mtu);
    OFFSET(struct ibv_port_attr, active_mtu);
    OFFSET(struct ibv_port_attr, gid_tbl_len);
    OFFSET(struct ibv_port_attr, port_cap_flags);
    OFFSET(struct ibv_port_attr, max_msg_sz);
    OFFSET(struct ibv_port_attr, lid);
    OFFSET(struct ibv_port_attr, active_width);
    OFFSET(struct ibv_port_attr, active_speed);
    OFFSET(struct ibv_port_attr, phys_state);
    OFFSET(struct ibv_port_attr, link_layer);
    OFFSET(struct ibv_port_attr, flags);
    OFFSET(struct ibv_port_attr, port_cap_flags2);

    SIZE(union ibv_gid);
    SIZE(struct ibv_gid_entry);
    OFFSET(struct ibv_gid_entry, gid);
    OFFSET(struct ibv_gid_entry, gid_index);
    OFFSET(struct ibv_gid_entry, port_num);
    OFFSET(struct ibv_gid_entry, gid_type);
    OFFSET(struct ibv_gid_entry, ndev_ifindex);

    SIZE(struct ibv_qp_cap);
    OFFSET(struct ibv_qp_cap, max_send_wr);
    OFFSET(struct ibv_qp_cap, max_recv_wr);
    OFFSET(struct ibv_qp_cap, max_send_sge);
    OFFSET(struct ibv_qp_cap, max_recv_sge);
    OFFSET(struct ibv_qp_cap, max_inline_data);

    SIZE(struct ibv_qp_init_attr);
    OFFSET(struct ibv_qp_init_attr, qp_context);
    OFFSET(struct ibv_qp_init_attr, send_cq);
    OFFSET(struct ibv_qp_init_attr, recv_cq);
    OFFSET(struct ibv_qp_init_attr, srq);
    OFFSET(struct ibv_qp_init_attr, cap);
    OFFSET(struct ibv_qp_init_attr, qp_type);
    OFFSET(struct ibv_qp_init_attr, sq_sig_all);

    SIZE(struct ibv_global_route);
    OFFSET(struct ibv_global_route, dgid);
    OFFSET(struct ibv_global_route, flow_label);
    OFFSET(struct ibv_global_route, sgid_index);
    OFFSET(struct ibv_global_route, hop_limit);
    OFFSET(struct ibv_global_route, traffic_class);

    SIZE(struct ibv_ah_attr);
    OFFSET(struct ibv_ah_attr, grh);
    OFFSET(struct ibv_ah_attr, dlid);
    OFFSET(struct ibv_ah_attr, sl);
    OFFSET(struct ibv_ah_attr, src_path_bits);
    OFFSET(struct ibv_ah_attr, static_rate);
    OFFSET(struct ibv_ah_attr, is_global);
    OFFSET(struct ibv_ah_attr, port_num);

    SIZE(struct ibv_qp_attr);
    OFFSET(struct ibv_qp_attr, qp_state);
    OFFSET(struct ibv_qp_attr, cur_qp_state);
    OFFSET(struct ibv_qp_attr, path_mtu);
    OFFSET(struct ibv_qp_attr, qkey);
    OFFSET(struct ibv_qp_attr, rq_psn);
    OFFSET(struct ibv_qp_attr, sq_psn);
    OFFSET(struct ibv_qp_attr, dest_qp_num);
    OFFSET(struct ibv_qp_attr, qp_access_flags);
    OFFSET(struct ibv_qp_attr, cap);
    OFFSET(struct ibv_qp_attr, ah_attr);
    OFFSET(struct ibv_qp_attr, alt_ah_attr);
    OFFSET(struct ibv_qp_attr, pkey_index);
    OFFSET(struct ibv_qp_attr, max_rd_atomic);
    OFFSET(struct ibv_qp_attr, max_dest_rd_atomic);
    OFFSET(struct ibv_qp_attr, min_rnr_timer);
    OFFSET(struct ibv_qp_attr, port_num);
    OFFSET(struct ibv_qp_attr, timeout);
    OFFSET(struct ibv_qp_attr, retry_cnt);
    OFFSET(struct ibv_qp_attr, rnr_retry);
    OFFSET(struct ibv_qp_attr, rate_limit);

    SIZE(struct ibv_sge);
    OFFSET(struct ibv_sge, addr);
    OFFSET(struct ibv_sge, length);
    OFFSET(struct ibv_sge, lkey);

    SIZE(struct ibv_send_wr);
    OFFSET(struct ibv_send_wr, wr_id);
    OFFSET(struct ibv_send_wr, next);
    OFFSET(struct ibv_send_wr, sg_list);
    OFFSET(struct ibv_send_wr, num_sge);
    OFFSET(struct ibv_send_wr, opcode);
    OFFSET(struct ibv_send_wr, send_flags);
    OFFSET(struct ibv_send_wr, imm_data);
    OFFSET(struct ibv_send_wr, wr.rdma.remote_addr);
    OFFSET(struct ibv_send_wr, wr.rdma.rkey);

    SIZE(struct ibv_recv_wr);
    OFFSET(struct ibv_recv_wr, wr_id);
    OFFSET(struct ibv_recv_wr, next);
    OFFSET(struct ibv_recv_wr, sg_list);
    OFFSET(struct ibv_recv_wr, num_sge);

    SIZE(struct ibv_wc);
    OFFSET(struct ibv_wc, wr_id);
    OFFSET(struct ibv_wc, status);
    OFFSET(struct ibv_wc, opcode);
    OFFSET(struct ibv_wc, vendor_err);
    OFFSET(struct ibv_wc, byte_len);
    OFFSET(struct ibv_wc, imm_data);
    OFFSET(struct ibv_wc, qp_num);
    OFFSET(struct ibv_wc, src_qp);
    OFFSET(struct ibv_wc, wc_flags);

    CONST(IBV_ACCESS_LOCAL_WRITE);
    CONST(IBV_ACCESS_REMOTE_WRITE);
    CONST(IBV_ACCESS_REMOTE_READ);
    CONST(IBV_ACCESS_REMOTE_ATOMIC);
    CONST(IBV_ACCESS_RELAXED_ORDERING);

    CONST(IBV_QPT_RC);
    CONST(IBV_QPS_RESET);
    CONST(IBV_QPS_INIT);
    CONST(IBV_QPS_RTR);
    CONST(IBV_QPS_RTS);
    CONST(IBV_QPS_SQD);
    CONST(IBV_QPS_SQE);
    CONST(IBV_QPS_ERR);

    CONST(IBV_QP_STATE);
    CONST(IBV_QP_ACCESS_FLAGS);
    CONST(IBV_QP_PKEY_INDEX);
    CONST(IBV_QP_PORT);
    CONST(IBV_QP_AV);
    CONST(IBV_QP_PATH_MTU);
    CONST(IBV_QP_TIMEOUT);
    CONST(IBV_QP_RETRY_CNT);
    CONST(IBV_QP_RNR_RETRY);
    CONST(IBV_QP_RQ_PSN);
    CONST(IBV_QP_MAX_QP_RD_ATOMIC);
    CONST(IBV_QP_MIN_RNR_TIMER);
    CONST(IBV_QP_SQ_PSN);
    CONST(IBV_QP_MAX_DEST_RD_ATOMIC);
    CONST(IBV_QP_DEST_QPN);

    CONST(IBV_WR_RDMA_WRITE);
    CONST(IBV_WR_RDMA_WRITE_WITH_IMM);
    CONST(IBV_WR_SEND);
    CONST(IBV_WR_SEND_WITH_IMM);
    CONST(IBV_WR_RDMA_READ);
    CONST(IBV_SEND_FENCE);
    CONST(IBV_SEND_SIGNALED);
    CONST(IBV_SEND_SOLICITED);
    CONST(IBV_SEND_INLINE);

    CONST(IBV_WC_SUCCESS);
    CONST(IBV_WC_LOC_LEN_ERR);
    CONST(IBV_WC_LOC_QP_OP_ERR);
    CONST(IBV_WC_LOC_EEC_OP_ERR);
    CONST(IBV_WC_LOC_PROT_ERR);
    CONST(IBV_WC_WR_FLUSH_ERR);
    CONST(IBV_WC_MW_BIND_ERR);
    CONST(IBV_WC_BAD_RESP_ERR);
    CONST(IBV_WC_LOC_ACCESS_ERR);
    CONST(IBV_WC_REM_INV_REQ_ERR);
    CONST(IBV_WC_REM_ACCESS_ERR);
    CONST(IBV_WC_REM_OP_ERR);
    CONST(IBV_WC_RETRY_EXC_ERR);
    CONST(IBV_WC_RNR_RETRY_EXC_ERR);
    CONST(IBV_WC_LOC_RDD_VIOL_ERR);
    CONST(IBV_WC_REM_INV_RD_REQ_ERR);
    CONST(IBV_WC_REM_ABORT_ERR);
    CONST(IBV_WC_INV_EECN_ERR);
    CONST(IBV_WC_INV_EEC_STATE_ERR);
    CONST(IBV_WC_FATAL_ERR);
    CONST(IBV_WC_RESP_TIMEOUT_ERR);
    CONST(IBV_WC_GENERAL_ERR);
    CONST(IBV_WC_SEND);
    CONST(IBV_WC_RDMA_WRITE);
    CONST(IBV_WC_RDMA_READ);
    CONST(IBV_WC_RECV);
    CONST(IBV_WC_RECV_RDMA_WITH_IMM);
    CONST(IBV_WC_WITH_IMM);

    CONST(IBV_MTU_256);
    CONST(IBV_MTU_512);
    CONST(IBV_MTU_1024);
    CONST(IBV_MTU_2048);
    CONST(IBV_MTU_4096);
    CONST(IBV_PORT_NOP);
    CONST(IBV_PORT_DOWN);
    CONST(IBV_PORT_INIT);
    CONST(IBV_PORT_ARMED);
    CONST(IBV_PORT_ACTIVE);
    CONST(IBV_PORT_ACTIVE_DEFER);
    CONST(IBV_LINK_LAYER_UNSPECIFIED);
    CONST(IBV_LINK_LAYER_INFINIBAND);
    CONST(IBV_LINK_LAYER_ETHERNET);
    CONST(IBV_GID_TYPE_IB);
    CONST(IBV_GID_TYPE_ROCE_V1);
    CONST(IBV_GID_TYPE_ROCE_V2);
    return 0;
}
