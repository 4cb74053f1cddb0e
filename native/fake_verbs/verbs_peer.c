/*
 * The far end of the cross-process verbs test: a second process that talks RC to the test process over the fake
 * libibverbs (linked against it as libibverbs.so.1), through the same inline verbs.h calls a C program on real
 * hardware would make. Line protocol on stdin/stdout:
 *
 *   peer -> "READY <qpn> <psn> <gid hex> <addr> <rkey>"   its QP and an 8 KiB region: [0,4096) pattern i*7+3 for READs
 *                                                          and WRITE target, [4096,8192) receive buffer
 *   test -> "<qpn> <psn> <gid hex> <addr> <rkey>"          the test's QP and a region the peer writes to
 *   peer -> "CONNECTED"                                    after RTR and RTS
 *   ...the test WRITEs into [0,1024), READs [2048,3072), then SENDs a message...
 *   peer -> "RECV <byte_len> <fnv1a of [0,1024) in hex> <message>"
 *   peer WRITEs 256 bytes of 0xA5 to the test's region, then SENDs "pong" with immediate 0x12345678
 *   peer -> "DONE <status of write> <status of send>"      and exits 0
 *
 * Any failure prints "FAIL <what>" and exits 1.
 */
#define _GNU_SOURCE
#include <infiniband/verbs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FAIL(what) do { printf("FAIL %s\n", what); fflush(stdout); exit(1); } while (0)

static void hex_gid(const union ibv_gid *g, char *out)
{
    for (int i = 0; i < 16; i++)
        sprintf(out + 2 * i, "%02x", g->raw[i]);
}

static int parse_gid(const char *hex, union ibv_gid *g)
{
    for (int i = 0; i < 16; i++)
        if (sscanf(hex + 2 * i, "%2hhx", &g->raw[i]) != 1)
            return -1;
    return 0;
}

static int wait_wc(struct ibv_cq *cq, struct ibv_wc *wc)
{
    for (int i = 0; i < 20000; i++) {
        int n = ibv_poll_cq(cq, 1, wc);
        if (n != 0)
            return n;
        usleep(1000);
    }
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int n = 0;
    struct ibv_device **list = ibv_get_device_list(&n);
    if (!list || n < 1)
        FAIL("no device");
    struct ibv_context *ctx = ibv_open_device(list[0]);
    struct ibv_pd *pd = ctx ? ibv_alloc_pd(ctx) : NULL;
    struct ibv_cq *cq = pd ? ibv_create_cq(ctx, 64, NULL, NULL, 0) : NULL;
    if (!cq)
        FAIL("setup");
    unsigned char *buf = calloc(1, 8192);
    for (int i = 0; i < 4096; i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    struct ibv_mr *mr = ibv_reg_mr(pd, buf, 8192, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
    struct ibv_qp_init_attr ia = { .send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
                                   .cap = { .max_send_wr = 16, .max_recv_wr = 16, .max_send_sge = 1, .max_recv_sge = 1 } };
    struct ibv_qp *qp = mr ? ibv_create_qp(pd, &ia) : NULL;
    if (!qp)
        FAIL("create_qp");

    struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT, .port_num = 1,
                             .qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ };
    if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
        FAIL("init");
    struct ibv_sge rs = { (uintptr_t)(buf + 4096), 4096, mr->lkey };
    struct ibv_recv_wr rw = { .wr_id = 77, .sg_list = &rs, .num_sge = 1 }, *rbad;
    if (ibv_post_recv(qp, &rw, &rbad))
        FAIL("post_recv");

    const int gid_index = 2; /* ::ffff:127.0.0.1, RoCE v2, in the fake's default table */
    union ibv_gid gid;
    if (ibv_query_gid(ctx, 1, gid_index, &gid))
        FAIL("query_gid");
    char hex[33];
    hex_gid(&gid, hex);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    uint32_t psn = (uint32_t)rand() & 0xffffff;
    printf("READY %u %u %s %" PRIu64 " %u\n", qp->qp_num, psn, hex, (uint64_t)(uintptr_t)buf, mr->rkey);

    unsigned int rqpn, rpsn, rrkey;
    uint64_t raddr;
    char rhex[64];
    union ibv_gid rgid;
    if (scanf("%u %u %63s %" SCNu64 " %u", &rqpn, &rpsn, rhex, &raddr, &rrkey) != 5 || parse_gid(rhex, &rgid))
        FAIL("handshake");

    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_RTR;
    a.path_mtu = IBV_MTU_1024;
    a.dest_qp_num = rqpn;
    a.rq_psn = rpsn;
    a.max_dest_rd_atomic = 1;
    a.min_rnr_timer = 12;
    a.ah_attr.is_global = 1;
    a.ah_attr.grh.dgid = rgid;
    a.ah_attr.grh.sgid_index = gid_index;
    a.ah_attr.grh.hop_limit = 64;
    a.ah_attr.port_num = 1;
    if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                                  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
        FAIL("rtr");
    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_RTS;
    a.sq_psn = psn;
    a.timeout = 14;
    a.retry_cnt = 7;
    a.rnr_retry = 7;
    a.max_rd_atomic = 1;
    if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                                  IBV_QP_MAX_QP_RD_ATOMIC))
        FAIL("rts");
    printf("CONNECTED\n");

    struct ibv_wc wc;
    if (wait_wc(cq, &wc) != 1 || wc.status != IBV_WC_SUCCESS || wc.opcode != IBV_WC_RECV)
        FAIL("recv");
    uint32_t h = 2166136261u;
    for (int i = 0; i < 1024; i++)
        h = (h ^ buf[i]) * 16777619u;
    printf("RECV %u %08x %.*s\n", wc.byte_len, h, (int)wc.byte_len, (const char *)buf + 4096);

    memset(buf + 6000, 0xA5, 256);
    memcpy(buf + 7000, "pong", 4);
    struct ibv_sge ws = { (uintptr_t)(buf + 6000), 256, mr->lkey };
    struct ibv_sge ss = { (uintptr_t)(buf + 7000), 4, mr->lkey };
    struct ibv_send_wr send = { .wr_id = 2, .sg_list = &ss, .num_sge = 1, .opcode = IBV_WR_SEND_WITH_IMM,
                                .send_flags = IBV_SEND_SIGNALED, .imm_data = 0x12345678 };
    struct ibv_send_wr write = { .wr_id = 1, .next = &send, .sg_list = &ws, .num_sge = 1, .opcode = IBV_WR_RDMA_WRITE,
                                 .send_flags = IBV_SEND_SIGNALED };
    write.wr.rdma.remote_addr = raddr;
    write.wr.rdma.rkey = rrkey;
    struct ibv_send_wr *bad;
    if (ibv_post_send(qp, &write, &bad))
        FAIL("post_send");
    struct ibv_wc w1, w2;
    if (wait_wc(cq, &w1) != 1 || wait_wc(cq, &w2) != 1)
        FAIL("send completions");
    printf("DONE %d %d\n", w1.status, w2.status);

    ibv_destroy_qp(qp);
    ibv_dereg_mr(mr);
    ibv_destroy_cq(cq);
    ibv_dealloc_pd(pd);
    ibv_close_device(ctx);
    ibv_free_device_list(list);
    free(buf);
    return 0;
}
