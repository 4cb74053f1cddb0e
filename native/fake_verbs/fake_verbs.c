/*
 * A stand-in for rdma-core's libibverbs.so.1, for machines without RDMA devices (CI, laptops).
 *
 * It exports the setup verbs DataPlane binds, with the real ABI (the real <infiniband/verbs.h> is included, so every
 * structure is the real one), and fills ibv_context.ops with post_send / post_recv / poll_cq / req_notify_cq, the
 * data-path verbs that are static inline in verbs.h and reached through that table by every caller.
 *
 * Reliable-connected semantics between queue pairs, in one process or across processes on one host:
 *   - every QP listens on an abstract AF_UNIX socket named after its QP number; binding that name is what makes QP
 *     numbers unique on the host;
 *   - INIT->RTR connects to the peer QP's socket and sends a hello naming the GIDs both ends believe in;
 *   - each accepted connection gets a responder thread that checks the request (peer state, PSN, MTU, rkey, range,
 *     access), copies memory and answers; each outgoing connection gets a reader thread that turns answers into
 *     completions, in order;
 *   - a per-process service thread accepts connections.
 * See README.md for the behaviour table, the device syntax and the test hooks.
 */
#define _GNU_SOURCE
#include <infiniband/verbs.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* verbs.h turns these names into inline wrappers; the library exports the plain functions. */
#undef ibv_query_port
#undef ibv_reg_mr
#undef ibv_reg_mr_iova
#undef ibv_get_device_list

#define MAX_DEVICES 8
#define MAX_GIDS 16
#define MAX_WAIT_NS 10000000000ull /* "infinite" timeouts are capped so a broken test fails instead of hanging */
#define DEFAULT_SPEC "fake_mlx5_0:netdev=lo:ip=127.0.0.1"
#define SOCKET_PREFIX "dataplane-fake-verbs-qp-"
#define COMPAT_PORT_ATTR_SIZE offsetof(struct ibv_port_attr, port_cap_flags2)

/* ---------------------------------------------------------------------------------------------------------------- */
/* Configuration: environment, overridden by the dataplane_fake_verbs_set_* exports                                 */
/* ---------------------------------------------------------------------------------------------------------------- */

static pthread_mutex_t g_config_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_spec_override;   /* NULL: environment */
static int g_no_devices = -1;   /* -1: environment */
static long g_fail_wr = -1;     /* -1: environment; 0: none */
static long g_data_wrs;         /* data WRs counted since the failure setting last changed */
static int g_gid_ex = 1;        /* whether _ibv_query_gid_ex answers */
static int g_fail_modify;       /* an ibv_qp_state whose next transition fails once; 0: none */

/** Test hook: the device spec (see README); NULL returns to DATAPLANE_FAKE_VERBS_DEVICES. */
void dataplane_fake_verbs_set_devices(const char *spec)
{
    pthread_mutex_lock(&g_config_lock);
    free(g_spec_override);
    g_spec_override = spec ? strdup(spec) : NULL;
    pthread_mutex_unlock(&g_config_lock);
}

/** Test hook: 1 reports no devices, 0 the configured ones, -1 returns to DATAPLANE_FAKE_VERBS_NO_DEVICES. */
void dataplane_fake_verbs_set_no_devices(int value)
{
    pthread_mutex_lock(&g_config_lock);
    g_no_devices = value;
    pthread_mutex_unlock(&g_config_lock);
}

/** Test hook: the n-th data work request posted from now on completes with IBV_WC_REM_ACCESS_ERR; 0 none,
 * -1 returns to DATAPLANE_FAKE_VERBS_FAIL_WR. Restarts the count either way. */
void dataplane_fake_verbs_set_fail_wr(long n)
{
    pthread_mutex_lock(&g_config_lock);
    g_fail_wr = n;
    g_data_wrs = 0;
    pthread_mutex_unlock(&g_config_lock);
}

/** Test hook: 0 makes _ibv_query_gid_ex answer EOPNOTSUPP, as a library older than rdma-core 32 lacks it. */
void dataplane_fake_verbs_set_gid_ex(int enabled)
{
    pthread_mutex_lock(&g_config_lock);
    g_gid_ex = enabled;
    pthread_mutex_unlock(&g_config_lock);
}

/** Test hook: the next ibv_modify_qp into @state (IBV_QPS_INIT, _RTR or _RTS) fails once with EINVAL, as a
 * driver refusing the transition would; 0 clears it. */
void dataplane_fake_verbs_set_fail_modify(int state)
{
    pthread_mutex_lock(&g_config_lock);
    g_fail_modify = state;
    pthread_mutex_unlock(&g_config_lock);
}

/* Whether this transition is the one to refuse (once). */
static bool take_injected_modify_failure(enum ibv_qp_state next)
{
    pthread_mutex_lock(&g_config_lock);
    bool fail = g_fail_modify != 0 && (int)next == g_fail_modify;
    if (fail)
        g_fail_modify = 0;
    pthread_mutex_unlock(&g_config_lock);
    return fail;
}

static long env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : fallback;
}

/* Whether this data WR is the one to fail. */
static bool take_injected_failure(void)
{
    pthread_mutex_lock(&g_config_lock);
    long n = g_fail_wr >= 0 ? g_fail_wr : env_long("DATAPLANE_FAKE_VERBS_FAIL_WR", 0);
    bool fail = n > 0 && ++g_data_wrs == n;
    pthread_mutex_unlock(&g_config_lock);
    return fail;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Devices                                                                                                          */
/* ---------------------------------------------------------------------------------------------------------------- */

struct fake_gid {
    uint8_t raw[16];
    uint32_t type;
};

struct fake_device {
    struct ibv_device dev; /* first: the ibv_device pointer is the fake_device pointer */
    atomic_int refs;       /* the list that returned it + open contexts */
    int index;
    char netdev[IF_NAMESIZE];
    enum ibv_port_state state;
    enum ibv_mtu active_mtu;
    uint8_t link_layer;
    int ngids; /* gid_tbl_len */
    struct fake_gid gids[MAX_GIDS];
};

static void device_put(struct fake_device *d)
{
    if (atomic_fetch_sub(&d->refs, 1) == 1)
        free(d);
}

static int parse_mtu(const char *v)
{
    int n = atoi(v);
    switch (n) {
    case 256: return IBV_MTU_256;
    case 512: return IBV_MTU_512;
    case 1024: return IBV_MTU_1024;
    case 2048: return IBV_MTU_2048;
    case 4096: return IBV_MTU_4096;
    default: return -1;
    }
}

/* One "name[:key=value]..." item; false (with a message on stderr) for something it cannot parse. */
static bool parse_device(char *item, int index, struct fake_device *d)
{
    char *save = NULL;
    char *name = strtok_r(item, ":", &save);
    if (!name || !*name || strlen(name) >= sizeof(d->dev.name))
        return false;
    d->index = index;
    d->state = IBV_PORT_ACTIVE;
    d->active_mtu = IBV_MTU_4096;
    d->link_layer = IBV_LINK_LAYER_ETHERNET;
    d->dev.node_type = IBV_NODE_CA;
    d->dev.transport_type = IBV_TRANSPORT_IB;
    snprintf(d->dev.name, sizeof(d->dev.name), "%s", name);
    snprintf(d->dev.dev_name, sizeof(d->dev.dev_name), "uverbs%d", index);
    snprintf(d->dev.dev_path, sizeof(d->dev.dev_path), "/sys/class/infiniband_verbs/uverbs%d", index);
    snprintf(d->dev.ibdev_path, sizeof(d->dev.ibdev_path), "/sys/class/infiniband/%s", name);

    uint8_t ips[MAX_GIDS][4];
    int nips = 0;
    for (char *kv = strtok_r(NULL, ":", &save); kv; kv = strtok_r(NULL, ":", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return false;
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(kv, "netdev") && strlen(v) < sizeof(d->netdev)) {
            snprintf(d->netdev, sizeof(d->netdev), "%s", v);
        } else if (!strcmp(kv, "ip") && nips < MAX_GIDS - 4) {
            if (inet_pton(AF_INET, v, ips[nips]) != 1)
                return false;
            nips++;
        } else if (!strcmp(kv, "mtu")) {
            int m = parse_mtu(v);
            if (m < 0)
                return false;
            d->active_mtu = (enum ibv_mtu)m;
        } else if (!strcmp(kv, "state") && (!strcmp(v, "active") || !strcmp(v, "down"))) {
            d->state = !strcmp(v, "active") ? IBV_PORT_ACTIVE : IBV_PORT_DOWN;
        } else if (!strcmp(kv, "link") && (!strcmp(v, "eth") || !strcmp(v, "ib"))) {
            d->link_layer = !strcmp(v, "eth") ? IBV_LINK_LAYER_ETHERNET : IBV_LINK_LAYER_INFINIBAND;
        } else {
            return false;
        }
    }

    /* Link-local GID from a made-up MAC 02:00:00:00:00:<index+1> (EUI-64: 0000:00ff:fe00:00xx). */
    uint8_t ll[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, (uint8_t)(index + 1) };
    int n = 0;
    if (d->link_layer == IBV_LINK_LAYER_INFINIBAND) {
        memcpy(d->gids[n].raw, ll, 16);
        d->gids[n++].type = IBV_GID_TYPE_IB;
    } else {
        memcpy(d->gids[n].raw, ll, 16);
        d->gids[n++].type = IBV_GID_TYPE_ROCE_V1;
        memcpy(d->gids[n].raw, ll, 16);
        d->gids[n++].type = IBV_GID_TYPE_ROCE_V2;
        for (int i = 0; i < nips; i++) {
            uint8_t *g = d->gids[n].raw;
            memset(g, 0, 16);
            g[10] = g[11] = 0xff;
            memcpy(g + 12, ips[i], 4);
            d->gids[n++].type = IBV_GID_TYPE_ROCE_V2;
        }
    }
    n++; /* one empty slot, as real tables have where an address went away */
    d->ngids = n;
    return true;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Objects                                                                                                          */
/* ---------------------------------------------------------------------------------------------------------------- */

struct fake_context {
    struct ibv_context ctx;
    struct fake_device *dev;
    atomic_int children; /* PDs, CQs, channels */
};

struct fake_pd {
    struct ibv_pd pd;
    atomic_int children; /* MRs, QPs */
};

struct fake_mr {
    struct ibv_mr mr;
    uint64_t iova;
    unsigned int access;
    struct fake_mr *next;
};

struct fake_channel {
    struct ibv_comp_channel ch;
    int wfd;               /* write end of the pipe; ch.fd is the read end */
    pthread_mutex_t lock;  /* guards the event queue; the pipe holds one byte exactly while it is non-empty */
    struct ibv_cq **events;
    int nevents, capevents;
};

struct fake_cq {
    struct ibv_cq cq;
    pthread_mutex_t lock;
    struct ibv_wc *ring;
    int cap, head, count;
    int armed; /* 0, 1 any completion, 2 solicited or error only */
    bool overflow;
    atomic_int qps;
    atomic_uint events_read, events_acked;
};

struct pending { /* a send-queue WR awaiting its completion, in posting order */
    struct pending *next;
    uint64_t seq, wr_id;
    enum ibv_wc_opcode opcode;
    uint32_t byte_len;
    bool signaled, done;
    enum ibv_wc_status status;
    int nsge;
    struct ibv_sge *sge; /* READ: where the answer goes */
};

struct recv_entry {
    struct recv_entry *next;
    uint64_t wr_id;
    int nsge;
    struct ibv_sge sge[];
};

struct in_conn {
    struct in_conn *next;
    int fd;
};

struct fake_qp {
    struct ibv_qp qp;
    struct fake_context *fctx;
    pthread_mutex_t lock;      /* state, attributes, queues */
    pthread_cond_t cond;       /* state changes, receives posted, threads gone */
    pthread_mutex_t send_lock; /* order of requests on the outgoing socket; taken before lock */
    struct ibv_qp_cap cap;
    bool sq_sig_all;

    uint8_t port;
    unsigned int access;
    enum ibv_mtu path_mtu;
    uint32_t dest_qpn, rq_psn, sq_psn, next_psn, expected_psn;
    struct ibv_ah_attr ah;
    uint8_t sgid[16];
    uint8_t min_rnr_timer, timeout, retry_cnt, rnr_retry, max_rd_atomic, max_dest_rd_atomic;

    struct pending *pend_head, *pend_tail;
    int pend_count;
    uint64_t next_seq;
    struct recv_entry *rq_head, *rq_tail;
    int rq_count;

    int listen_fd;
    int out_fd;           /* -1 none */
    bool out_unreachable; /* RTR found no such peer QP */
    bool reader_running;
    struct in_conn *in_conns;
    int in_threads;
    bool dying;
};

static pthread_rwlock_t g_mr_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct fake_mr *g_mrs;
static uint32_t g_next_key = 1;

static pthread_mutex_t g_qp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_qp **g_qps;
static int g_nqps, g_capqps;
static int g_epoll = -1;
static uint32_t g_qpn_counter;

/* ---------------------------------------------------------------------------------------------------------------- */
/* Helpers                                                                                                          */
/* ---------------------------------------------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Waits on cond until deadline (CLOCK_REALTIME-based condvars: converts the remaining time). */
static void cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline)
{
    uint64_t now = now_ns();
    uint64_t left = deadline > now ? deadline - now : 0;
    if (left > 50000000ull)
        left = 50000000ull; /* wake at least every 50 ms to re-check */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t = (uint64_t)ts.tv_nsec + left;
    ts.tv_sec += (time_t)(t / 1000000000ull);
    ts.tv_nsec = (long)(t % 1000000000ull);
    pthread_cond_timedwait(c, m, &ts);
}

static int mtu_bytes(enum ibv_mtu m)
{
    return m >= IBV_MTU_256 && m <= IBV_MTU_4096 ? 128 << m : 4096;
}

/* IBA min RNR NAK timer encoding, in microseconds. */
static uint64_t rnr_timer_us(uint8_t code)
{
    static const uint32_t hundredths_ms[32] = { 65536, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192,
                                                256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192,
                                                12288, 16384, 24576, 32768, 49152 };
    return (uint64_t)hundredths_ms[code & 31] * 10;
}

static int write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Host address for [addr, addr+len) under a key, or NULL. Caller holds g_mr_lock. */
static void *mr_lookup(struct ibv_pd *pd, uint32_t key, bool remote, uint64_t addr, uint64_t len, unsigned int need)
{
    for (struct fake_mr *m = g_mrs; m; m = m->next) {
        if ((remote ? m->mr.rkey : m->mr.lkey) != key)
            continue;
        if (m->mr.pd != pd || (m->access & need) != need)
            return NULL;
        if (addr < m->iova || len > m->mr.length || addr - m->iova > m->mr.length - len)
            return NULL;
        return (char *)m->mr.addr + (addr - m->iova);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Completion queues and channels                                                                                   */
/* ---------------------------------------------------------------------------------------------------------------- */

static void channel_post(struct fake_channel *ch, struct ibv_cq *cq)
{
    pthread_mutex_lock(&ch->lock);
    if (ch->nevents == ch->capevents) {
        int cap = ch->capevents ? ch->capevents * 2 : 16;
        struct ibv_cq **e = realloc(ch->events, sizeof(*e) * (size_t)cap);
        if (!e) {
            pthread_mutex_unlock(&ch->lock);
            return;
        }
        ch->events = e;
        ch->capevents = cap;
    }
    ch->events[ch->nevents++] = cq;
    if (ch->nevents == 1) {
        char b = 1;
        (void)!write(ch->wfd, &b, 1);
    }
    pthread_mutex_unlock(&ch->lock);
}

static void cq_push(struct fake_cq *c, const struct ibv_wc *wc, bool solicited)
{
    bool notify = false;
    pthread_mutex_lock(&c->lock);
    if (c->count == c->cap) {
        c->overflow = true;
    } else {
        c->ring[(c->head + c->count) % c->cap] = *wc;
        c->count++;
    }
    if (c->armed == 1 || (c->armed == 2 && (solicited || wc->status != IBV_WC_SUCCESS))) {
        c->armed = 0;
        notify = c->cq.channel != NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (notify)
        channel_post((struct fake_channel *)c->cq.channel, &c->cq);
}

static int fake_poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc)
{
    struct fake_cq *c = (struct fake_cq *)cq;
    if (n < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    if (c->overflow) {
        pthread_mutex_unlock(&c->lock);
        return -1;
    }
    int k = 0;
    for (; k < n && c->count > 0; k++) {
        wc[k] = c->ring[c->head];
        c->head = (c->head + 1) % c->cap;
        c->count--;
    }
    pthread_mutex_unlock(&c->lock);
    return k;
}

static int fake_req_notify_cq(struct ibv_cq *cq, int solicited_only)
{
    struct fake_cq *c = (struct fake_cq *)cq;
    pthread_mutex_lock(&c->lock);
    c->armed = solicited_only ? 2 : 1;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Queue pairs: completions and errors                                                                              */
/* ---------------------------------------------------------------------------------------------------------------- */

static void emit_recv_flush(struct fake_qp *q, struct recv_entry *r)
{
    struct ibv_wc wc = { .wr_id = r->wr_id, .status = IBV_WC_WR_FLUSH_ERR, .opcode = IBV_WC_RECV,
                         .qp_num = q->qp.qp_num };
    cq_push((struct fake_cq *)q->qp.recv_cq, &wc, false);
}

/* Moves the QP to the error state: every outstanding receive completes with IBV_WC_WR_FLUSH_ERR (sends are flushed
 * by drain). Caller holds q->lock. */
static void enter_error_locked(struct fake_qp *q)
{
    q->qp.state = IBV_QPS_ERR;
    while (q->rq_head) {
        struct recv_entry *r = q->rq_head;
        q->rq_head = r->next;
        emit_recv_flush(q, r);
        free(r);
    }
    q->rq_tail = NULL;
    q->rq_count = 0;
    pthread_cond_broadcast(&q->cond);
}

/* Completes send-queue entries from the head while they are done (or everything, once in the error state), in
 * posting order. The first error moves the QP to the error state; later entries then flush. Caller holds q->lock. */
static void drain_locked(struct fake_qp *q)
{
    while (q->pend_head) {
        struct pending *e = q->pend_head;
        enum ibv_wc_status st;
        if (q->qp.state == IBV_QPS_ERR)
            st = IBV_WC_WR_FLUSH_ERR;
        else if (!e->done)
            break;
        else
            st = e->status;
        q->pend_head = e->next;
        if (!q->pend_head)
            q->pend_tail = NULL;
        q->pend_count--;
        if (e->signaled || st != IBV_WC_SUCCESS) {
            struct ibv_wc wc = { .wr_id = e->wr_id, .status = st, .opcode = e->opcode,
                                 .byte_len = e->byte_len, .qp_num = q->qp.qp_num };
            cq_push((struct fake_cq *)q->qp.send_cq, &wc, false);
        }
        if (st != IBV_WC_SUCCESS && st != IBV_WC_WR_FLUSH_ERR)
            enter_error_locked(q); /* after the error completion: the flushes follow it */
        free(e->sge);
        free(e);
    }
}

static struct pending *find_pending(struct fake_qp *q, uint64_t seq)
{
    for (struct pending *e = q->pend_head; e; e = e->next)
        if (e->seq == seq)
            return e;
    return NULL;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Wire protocol between the two ends of a connection                                                                */
/* ---------------------------------------------------------------------------------------------------------------- */

enum { MSG_HELLO = 1, MSG_REQ = 2, MSG_RESP = 3 };
enum { FLAG_SOLICITED = 1, FLAG_IMM = 2 };

struct wire {
    uint32_t type, src_qpn, dest_qpn, opcode; /* opcode: enum ibv_wr_opcode */
    uint32_t psn, npkts, mtu, rnr_retry;
    uint64_t seq, remote_addr, wait_ns;
    uint32_t rkey, length, imm, flags;
    uint32_t status, pad;
    uint8_t sgid[16], dgid[16]; /* hello: the requester's GID and the GID it addressed */
};

/* ---------------------------------------------------------------------------------------------------------------- */
/* Responder side: one thread per accepted connection                                                               */
/* ---------------------------------------------------------------------------------------------------------------- */

struct responder {
    struct fake_qp *q;
    int fd;
    bool gid_ok;
    uint32_t peer_qpn;
    uint8_t peer_sgid[16];
};

static bool device_has_gid(struct fake_device *d, const uint8_t *gid)
{
    static const uint8_t zero[16];
    if (!memcmp(gid, zero, 16))
        return d->link_layer == IBV_LINK_LAYER_INFINIBAND; /* IB without GRH addresses by LID */
    for (int i = 0; i < d->ngids; i++)
        if (!memcmp(d->gids[i].raw, gid, 16))
            return true;
    return false;
}

/* Pops a receive, waiting as RNR NAKs and retries would. Caller holds q->lock. */
static struct recv_entry *take_recv_locked(struct fake_qp *q, uint32_t rnr_retry, enum ibv_wc_status *st)
{
    uint64_t per_try = rnr_timer_us(q->min_rnr_timer) * 1000ull;
    uint64_t budget = rnr_retry >= 7 ? MAX_WAIT_NS : per_try * (rnr_retry + 1);
    uint64_t deadline = now_ns() + (budget > MAX_WAIT_NS ? MAX_WAIT_NS : budget);
    while (!q->rq_head && !q->dying && (q->qp.state == IBV_QPS_RTR || q->qp.state == IBV_QPS_RTS) &&
           now_ns() < deadline)
        cond_wait_until(&q->cond, &q->lock, deadline);
    if (q->rq_head) {
        struct recv_entry *r = q->rq_head;
        q->rq_head = r->next;
        if (!q->rq_head)
            q->rq_tail = NULL;
        q->rq_count--;
        return r;
    }
    *st = q->qp.state == IBV_QPS_RTR || q->qp.state == IBV_QPS_RTS ? IBV_WC_RNR_RETRY_EXC_ERR : IBV_WC_RETRY_EXC_ERR;
    return NULL;
}

/* Executes one request against the responder QP; returns the status the requester sees. */
static enum ibv_wc_status respond(struct responder *r, const struct wire *m, char *payload, char **out)
{
    struct fake_qp *q = r->q;
    if (!r->gid_ok)
        return IBV_WC_RETRY_EXC_ERR; /* addressed a GID this device does not have: packets go nowhere */

    /* Packets reach an RC QP only once it is in RTR or RTS and connected to this requester; until then the
     * requester retries, within its timeout x (retry_cnt + 1). */
    pthread_mutex_lock(&q->lock);
    uint64_t deadline = now_ns() + (m->wait_ns > MAX_WAIT_NS ? MAX_WAIT_NS : m->wait_ns);
    for (;;) {
        bool ready = (q->qp.state == IBV_QPS_RTR || q->qp.state == IBV_QPS_RTS) && q->dest_qpn == r->peer_qpn &&
                     (!memcmp(q->ah.grh.dgid.raw, r->peer_sgid, 16) || !q->ah.is_global);
        if (ready)
            break;
        if (q->dying || q->qp.state == IBV_QPS_ERR || now_ns() >= deadline) {
            pthread_mutex_unlock(&q->lock);
            return IBV_WC_RETRY_EXC_ERR;
        }
        cond_wait_until(&q->cond, &q->lock, deadline);
    }
    /* Out-of-sequence packets are NAKed and retried until the retry count runs out; an MTU larger than the
     * responder's path MTU is dropped. Either way the requester ends with a retry error. */
    if (m->psn != q->expected_psn || m->mtu > (uint32_t)q->path_mtu) {
        pthread_mutex_unlock(&q->lock);
        return IBV_WC_RETRY_EXC_ERR;
    }
    unsigned int qp_access = q->access;
    struct ibv_pd *pd = q->qp.pd;
    pthread_mutex_unlock(&q->lock);

    enum ibv_wc_status st = IBV_WC_SUCCESS;
    uint32_t op = m->opcode;
    if (op == IBV_WR_RDMA_WRITE || op == IBV_WR_RDMA_WRITE_WITH_IMM || op == IBV_WR_RDMA_READ) {
        bool write = op != IBV_WR_RDMA_READ;
        unsigned int need = write ? IBV_ACCESS_REMOTE_WRITE : IBV_ACCESS_REMOTE_READ;
        if (m->length > 0) {
            pthread_rwlock_rdlock(&g_mr_lock);
            void *p = (qp_access & need) ? mr_lookup(pd, m->rkey, true, m->remote_addr, m->length, need) : NULL;
            if (!p) {
                st = IBV_WC_REM_ACCESS_ERR;
            } else if (write) {
                memcpy(p, payload, m->length);
            } else {
                *out = malloc(m->length);
                if (*out)
                    memcpy(*out, p, m->length);
                else
                    st = IBV_WC_REM_OP_ERR;
            }
            pthread_rwlock_unlock(&g_mr_lock);
        }
    }

    if (st == IBV_WC_SUCCESS && (op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM || op == IBV_WR_RDMA_WRITE_WITH_IMM)) {
        pthread_mutex_lock(&q->lock);
        struct recv_entry *rv = take_recv_locked(q, m->rnr_retry, &st);
        pthread_mutex_unlock(&q->lock);
        if (rv) {
            struct ibv_wc wc = { .wr_id = rv->wr_id, .status = IBV_WC_SUCCESS, .byte_len = m->length,
                                 .qp_num = q->qp.qp_num, .src_qp = r->peer_qpn };
            wc.opcode = op == IBV_WR_RDMA_WRITE_WITH_IMM ? IBV_WC_RECV_RDMA_WITH_IMM : IBV_WC_RECV;
            if (m->flags & FLAG_IMM) {
                wc.wc_flags = IBV_WC_WITH_IMM;
                wc.imm_data = m->imm;
            }
            if (op != IBV_WR_RDMA_WRITE_WITH_IMM) {
                uint64_t room = 0;
                for (int i = 0; i < rv->nsge; i++)
                    room += rv->sge[i].length;
                if (room < m->length) {
                    wc.status = IBV_WC_LOC_LEN_ERR;
                    st = IBV_WC_REM_INV_REQ_ERR;
                } else {
                    pthread_rwlock_rdlock(&g_mr_lock);
                    uint64_t off = 0;
                    for (int i = 0; i < rv->nsge && off < m->length && wc.status == IBV_WC_SUCCESS; i++) {
                        uint64_t n = rv->sge[i].length < m->length - off ? rv->sge[i].length : m->length - off;
                        void *p = mr_lookup(pd, rv->sge[i].lkey, false, rv->sge[i].addr, n, IBV_ACCESS_LOCAL_WRITE);
                        if (!p) {
                            wc.status = IBV_WC_LOC_PROT_ERR;
                            st = IBV_WC_REM_OP_ERR;
                        } else {
                            memcpy(p, payload + off, n);
                            off += n;
                        }
                    }
                    pthread_rwlock_unlock(&g_mr_lock);
                }
            }
            pthread_mutex_lock(&q->lock);
            if (q->qp.state == IBV_QPS_ERR) {
                wc.status = IBV_WC_WR_FLUSH_ERR;
            }
            cq_push((struct fake_cq *)q->qp.recv_cq, &wc, (m->flags & FLAG_SOLICITED) != 0);
            if (wc.status != IBV_WC_SUCCESS && wc.status != IBV_WC_WR_FLUSH_ERR)
                enter_error_locked(q);
            pthread_mutex_unlock(&q->lock);
            free(rv);
        }
    }

    if (st == IBV_WC_SUCCESS) {
        pthread_mutex_lock(&q->lock);
        q->expected_psn = (q->expected_psn + m->npkts) & 0xffffff;
        pthread_mutex_unlock(&q->lock);
    }
    return st;
}

static void *responder_main(void *arg)
{
    struct responder *r = arg;
    struct fake_qp *q = r->q;
    struct wire m;
    if (read_full(r->fd, &m, sizeof(m)) == 0 && m.type == MSG_HELLO) {
        r->peer_qpn = m.src_qpn;
        memcpy(r->peer_sgid, m.sgid, 16);
        r->gid_ok = device_has_gid(q->fctx->dev, m.dgid);
        while (read_full(r->fd, &m, sizeof(m)) == 0 && m.type == MSG_REQ) {
            char *payload = NULL, *out = NULL;
            bool carries = m.opcode != IBV_WR_RDMA_READ && m.length > 0;
            if (carries) {
                payload = malloc(m.length);
                if (!payload || read_full(r->fd, payload, m.length) != 0) {
                    free(payload);
                    break;
                }
            }
            struct wire resp = { .type = MSG_RESP, .seq = m.seq, .length = m.length, .opcode = m.opcode };
            resp.status = (uint32_t)respond(r, &m, payload, &out);
            free(payload);
            bool ok = write_full(r->fd, &resp, sizeof(resp)) == 0;
            if (ok && resp.status == IBV_WC_SUCCESS && m.opcode == IBV_WR_RDMA_READ && m.length > 0)
                ok = write_full(r->fd, out, m.length) == 0;
            free(out);
            if (!ok)
                break;
        }
    }
    pthread_mutex_lock(&q->lock);
    for (struct in_conn **pc = &q->in_conns; *pc; pc = &(*pc)->next) {
        if ((*pc)->fd == r->fd) {
            struct in_conn *c = *pc;
            *pc = c->next;
            free(c);
            break;
        }
    }
    close(r->fd);
    q->in_threads--;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    free(r);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Requester side: one reader thread per outgoing connection                                                         */
/* ---------------------------------------------------------------------------------------------------------------- */

static void *reader_main(void *arg)
{
    struct fake_qp *q = arg;
    pthread_mutex_lock(&q->lock);
    int fd = q->out_fd;
    pthread_mutex_unlock(&q->lock);
    struct wire m;
    while (read_full(fd, &m, sizeof(m)) == 0 && m.type == MSG_RESP) {
        char *data = NULL;
        if (m.status == IBV_WC_SUCCESS && m.opcode == IBV_WR_RDMA_READ && m.length > 0) {
            /* Only READ answers carry data (also for a READ flushed meanwhile: the bytes are on the wire). */
            data = malloc(m.length);
            if (!data || read_full(fd, data, m.length) != 0) {
                free(data);
                break;
            }
        }
        pthread_mutex_lock(&q->lock);
        struct pending *e = find_pending(q, m.seq);
        if (e && !e->done) {
            e->done = true;
            e->status = (enum ibv_wc_status)m.status;
            if (e->status == IBV_WC_SUCCESS && e->opcode == IBV_WC_RDMA_READ && data) {
                pthread_rwlock_rdlock(&g_mr_lock);
                uint64_t off = 0;
                for (int i = 0; i < e->nsge && off < m.length; i++) {
                    void *p = mr_lookup(q->qp.pd, e->sge[i].lkey, false, e->sge[i].addr, e->sge[i].length,
                                        IBV_ACCESS_LOCAL_WRITE);
                    if (!p) {
                        e->status = IBV_WC_LOC_PROT_ERR;
                        break;
                    }
                    memcpy(p, data + off, e->sge[i].length);
                    off += e->sge[i].length;
                }
                pthread_rwlock_unlock(&g_mr_lock);
            }
            drain_locked(q);
        }
        pthread_mutex_unlock(&q->lock);
        free(data);
    }
    /* The connection is gone (peer destroyed, or this QP reset): what is still outstanding can never be answered. */
    pthread_mutex_lock(&q->lock);
    for (struct pending *e = q->pend_head; e; e = e->next) {
        if (!e->done) {
            e->done = true;
            e->status = IBV_WC_RETRY_EXC_ERR;
        }
    }
    if (!q->dying)
        drain_locked(q);
    q->reader_running = false;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* Closes the outgoing connection and waits for its reader. Caller holds send_lock and q->lock. */
static void disconnect_locked(struct fake_qp *q)
{
    if (q->out_fd >= 0) {
        shutdown(q->out_fd, SHUT_RDWR);
        while (q->reader_running)
            pthread_cond_wait(&q->cond, &q->lock);
        close(q->out_fd);
        q->out_fd = -1;
    }
    q->out_unreachable = false;
}

static void socket_name(uint32_t qpn, struct sockaddr_un *sa, socklen_t *len)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, SOCKET_PREFIX "%06x", qpn);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* INIT->RTR: connect to the peer QP. An unreachable peer is not an error here (as on a real fabric, where RTR
 * succeeds and the first request times out). Caller holds send_lock and q->lock. */
static void connect_locked(struct fake_qp *q)
{
    disconnect_locked(q);
    struct sockaddr_un sa;
    socklen_t len;
    socket_name(q->dest_qpn, &sa, &len);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len) != 0) {
        if (fd >= 0)
            close(fd);
        q->out_unreachable = true;
        return;
    }
    struct wire hello = { .type = MSG_HELLO, .src_qpn = q->qp.qp_num, .dest_qpn = q->dest_qpn };
    memcpy(hello.sgid, q->sgid, 16);
    memcpy(hello.dgid, q->ah.grh.dgid.raw, 16);
    if (write_full(fd, &hello, sizeof(hello)) != 0) {
        close(fd);
        q->out_unreachable = true;
        return;
    }
    q->out_fd = fd;
    q->reader_running = true;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, reader_main, q) != 0) {
        q->reader_running = false;
        close(fd);
        q->out_fd = -1;
        q->out_unreachable = true;
    }
    pthread_attr_destroy(&attr);
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Service thread: accepts connections to every QP of this process                                                   */
/* ---------------------------------------------------------------------------------------------------------------- */

static void *service_main(void *arg)
{
    (void)arg;
    struct epoll_event ev[16];
    for (;;) {
        int n = epoll_wait(g_epoll, ev, 16, -1);
        for (int i = 0; i < n; i++) {
            uint32_t qpn = ev[i].data.u32;
            pthread_mutex_lock(&g_qp_lock);
            struct fake_qp *q = NULL;
            for (int k = 0; k < g_nqps; k++)
                if (g_qps[k]->qp.qp_num == qpn)
                    q = g_qps[k];
            int fd = q ? accept4(q->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK) : -1;
            if (fd >= 0) {
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
                struct responder *r = calloc(1, sizeof(*r));
                struct in_conn *c = calloc(1, sizeof(*c));
                pthread_mutex_lock(&q->lock);
                pthread_t t;
                pthread_attr_t attr;
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                if (r && c && !q->dying) {
                    r->q = q;
                    r->fd = fd;
                    c->fd = fd;
                    c->next = q->in_conns;
                    q->in_conns = c;
                    q->in_threads++;
                    if (pthread_create(&t, &attr, responder_main, r) != 0) {
                        q->in_conns = c->next;
                        q->in_threads--;
                        free(r);
                        free(c);
                        close(fd);
                    }
                } else {
                    free(r);
                    free(c);
                    close(fd);
                }
                pthread_attr_destroy(&attr);
                pthread_mutex_unlock(&q->lock);
            }
            pthread_mutex_unlock(&g_qp_lock);
        }
    }
    return NULL;
}

static void start_service(void)
{
    /* Threads of this library run until the process ends, so it must never be unloaded. */
    Dl_info info;
    if (dladdr((void *)start_service, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    g_epoll = epoll_create1(EPOLL_CLOEXEC);
    g_qpn_counter = ((uint32_t)getpid() & 0x3fff) << 10;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (g_epoll >= 0 && pthread_create(&t, &attr, service_main, NULL) != 0) {
        close(g_epoll);
        g_epoll = -1;
    }
    pthread_attr_destroy(&attr);
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Data path (ibv_context.ops)                                                                                      */
/* ---------------------------------------------------------------------------------------------------------------- */

static int fake_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad_wr)
{
    struct fake_qp *q = (struct fake_qp *)qp;
    int rc = 0;
    pthread_mutex_lock(&q->send_lock);
    for (struct ibv_send_wr *w = wr; w; w = w->next) {
        pthread_mutex_lock(&q->lock);
        enum ibv_qp_state st = q->qp.state;
        bool is_read = w->opcode == IBV_WR_RDMA_READ;
        bool known = w->opcode == IBV_WR_RDMA_WRITE || w->opcode == IBV_WR_RDMA_WRITE_WITH_IMM ||
                     w->opcode == IBV_WR_SEND || w->opcode == IBV_WR_SEND_WITH_IMM || is_read;
        uint64_t total = 0;
        for (int i = 0; known && i < w->num_sge && i <= (int)q->cap.max_send_sge; i++)
            total += w->sg_list[i].length;
        bool is_inline = (w->send_flags & IBV_SEND_INLINE) != 0;
        if (st != IBV_QPS_RTS && st != IBV_QPS_ERR)
            rc = EINVAL; /* real providers: posting before RTS is rejected; in ERR it is accepted and flushed */
        else if (!known || w->num_sge < 0 || w->num_sge > (int)q->cap.max_send_sge || total > 0x80000000ull ||
                 (is_inline && (is_read || total > q->cap.max_inline_data)))
            rc = EINVAL;
        else if (q->pend_count >= (int)q->cap.max_send_wr)
            rc = ENOMEM;
        if (rc) {
            pthread_mutex_unlock(&q->lock);
            *bad_wr = w;
            break;
        }

        struct pending *e = calloc(1, sizeof(*e));
        if (!e) {
            pthread_mutex_unlock(&q->lock);
            *bad_wr = w;
            rc = ENOMEM;
            break;
        }
        e->seq = q->next_seq++;
        e->wr_id = w->wr_id;
        e->byte_len = (uint32_t)total;
        e->signaled = q->sq_sig_all || (w->send_flags & IBV_SEND_SIGNALED);
        e->opcode = is_read ? IBV_WC_RDMA_READ
                    : (w->opcode == IBV_WR_SEND || w->opcode == IBV_WR_SEND_WITH_IMM) ? IBV_WC_SEND
                                                                                      : IBV_WC_RDMA_WRITE;
        struct wire m = { .type = MSG_REQ, .src_qpn = q->qp.qp_num, .dest_qpn = q->dest_qpn,
                          .opcode = (uint32_t)w->opcode, .seq = e->seq, .remote_addr = w->wr.rdma.remote_addr,
                          .rkey = w->wr.rdma.rkey, .length = (uint32_t)total, .imm = w->imm_data,
                          .mtu = (uint32_t)q->path_mtu, .rnr_retry = q->rnr_retry };
        if (w->opcode == IBV_WR_RDMA_WRITE_WITH_IMM || w->opcode == IBV_WR_SEND_WITH_IMM)
            m.flags |= FLAG_IMM;
        if (w->send_flags & IBV_SEND_SOLICITED)
            m.flags |= FLAG_SOLICITED;
        char *payload = NULL;
        bool send_it = false;
        if (st == IBV_QPS_RTS) {
            enum ibv_wc_status local = IBV_WC_SUCCESS;
            pthread_rwlock_rdlock(&g_mr_lock);
            if (!is_inline) {
                for (int i = 0; i < w->num_sge && local == IBV_WC_SUCCESS; i++)
                    if (w->sg_list[i].length > 0 &&
                        !mr_lookup(q->qp.pd, w->sg_list[i].lkey, false, w->sg_list[i].addr, w->sg_list[i].length,
                                   is_read ? IBV_ACCESS_LOCAL_WRITE : 0))
                        local = IBV_WC_LOC_PROT_ERR;
            }
            if (local == IBV_WC_SUCCESS && !is_read && total > 0) {
                payload = malloc(total);
                uint64_t off = 0;
                for (int i = 0; payload && i < w->num_sge; i++) {
                    const struct ibv_sge *s = &w->sg_list[i];
                    const void *src = is_inline ? (const void *)(uintptr_t)s->addr
                                                : mr_lookup(q->qp.pd, s->lkey, false, s->addr, s->length, 0);
                    if (s->length > 0)
                        memcpy(payload + off, src, s->length);
                    off += s->length;
                }
                if (!payload)
                    local = IBV_WC_LOC_QP_OP_ERR;
            }
            pthread_rwlock_unlock(&g_mr_lock);
            if (local == IBV_WC_SUCCESS && is_read && w->num_sge > 0) {
                e->nsge = w->num_sge;
                e->sge = malloc(sizeof(struct ibv_sge) * (size_t)w->num_sge);
                if (e->sge)
                    memcpy(e->sge, w->sg_list, sizeof(struct ibv_sge) * (size_t)w->num_sge);
                else
                    local = IBV_WC_LOC_QP_OP_ERR;
            }
            if (local == IBV_WC_SUCCESS && take_injected_failure())
                local = IBV_WC_REM_ACCESS_ERR;
            if (local == IBV_WC_SUCCESS && (q->out_fd < 0 || q->out_unreachable))
                local = IBV_WC_RETRY_EXC_ERR;
            if (local != IBV_WC_SUCCESS) {
                e->done = true;
                e->status = local;
            } else {
                uint32_t mtu = (uint32_t)mtu_bytes(q->path_mtu);
                m.npkts = total == 0 ? 1 : (uint32_t)((total + mtu - 1) / mtu);
                m.psn = q->next_psn;
                q->next_psn = (q->next_psn + m.npkts) & 0xffffff;
                uint64_t per_try = q->timeout ? 4096ull << q->timeout : MAX_WAIT_NS;
                m.wait_ns = per_try * (q->retry_cnt + 1u);
                send_it = true;
            }
        }
        if (q->pend_tail)
            q->pend_tail->next = e;
        else
            q->pend_head = e;
        q->pend_tail = e;
        q->pend_count++;
        drain_locked(q);
        int fd = q->out_fd;
        pthread_mutex_unlock(&q->lock);

        if (send_it) {
            bool ok = write_full(fd, &m, sizeof(m)) == 0 && (!payload || write_full(fd, payload, total) == 0);
            if (!ok) {
                pthread_mutex_lock(&q->lock);
                struct pending *p = find_pending(q, m.seq);
                if (p && !p->done) {
                    p->done = true;
                    p->status = IBV_WC_RETRY_EXC_ERR;
                    drain_locked(q);
                }
                pthread_mutex_unlock(&q->lock);
            }
        }
        free(payload);
    }
    pthread_mutex_unlock(&q->send_lock);
    return rc;
}

static int fake_post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
    struct fake_qp *q = (struct fake_qp *)qp;
    int rc = 0;
    pthread_mutex_lock(&q->lock);
    for (struct ibv_recv_wr *w = wr; w; w = w->next) {
        if (q->qp.state == IBV_QPS_RESET || w->num_sge < 0 || w->num_sge > (int)q->cap.max_recv_sge)
            rc = EINVAL;
        else if (q->rq_count >= (int)q->cap.max_recv_wr)
            rc = ENOMEM;
        struct recv_entry *r = rc ? NULL : malloc(sizeof(*r) + sizeof(struct ibv_sge) * (size_t)w->num_sge);
        if (!rc && !r)
            rc = ENOMEM;
        if (rc) {
            *bad_wr = w;
            break;
        }
        r->next = NULL;
        r->wr_id = w->wr_id;
        r->nsge = w->num_sge;
        if (w->num_sge > 0)
            memcpy(r->sge, w->sg_list, sizeof(struct ibv_sge) * (size_t)w->num_sge);
        if (q->qp.state == IBV_QPS_ERR) {
            emit_recv_flush(q, r);
            free(r);
            continue;
        }
        if (q->rq_tail)
            q->rq_tail->next = r;
        else
            q->rq_head = r;
        q->rq_tail = r;
        q->rq_count++;
    }
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Exported verbs                                                                                                   */
/* ---------------------------------------------------------------------------------------------------------------- */

struct ibv_device **ibv_get_device_list(int *num_devices)
{
    pthread_mutex_lock(&g_config_lock);
    int none = g_no_devices >= 0 ? g_no_devices : (int)env_long("DATAPLANE_FAKE_VERBS_NO_DEVICES", 0);
    const char *env = getenv("DATAPLANE_FAKE_VERBS_DEVICES");
    char *spec = strdup(g_spec_override ? g_spec_override : env && *env ? env : DEFAULT_SPEC);
    pthread_mutex_unlock(&g_config_lock);

    struct ibv_device **list = calloc(MAX_DEVICES + 1, sizeof(*list));
    if (!spec || !list) {
        free(spec);
        free(list);
        errno = ENOMEM;
        return NULL;
    }
    int n = 0;
    char *save = NULL;
    for (char *item = none ? NULL : strtok_r(spec, ",", &save); item && n < MAX_DEVICES;
         item = strtok_r(NULL, ",", &save)) {
        struct fake_device *d = calloc(1, sizeof(*d));
        if (!d || !parse_device(item, n, d)) {
            fprintf(stderr, "fake libibverbs: cannot parse device '%s' in the device spec\n", item);
            free(d);
            continue;
        }
        atomic_store(&d->refs, 1);
        list[n++] = &d->dev;
    }
    free(spec);
    if (num_devices)
        *num_devices = n;
    return list;
}

void ibv_free_device_list(struct ibv_device **list)
{
    if (!list)
        return;
    for (int i = 0; list[i]; i++)
        device_put((struct fake_device *)list[i]);
    free(list);
}

const char *ibv_get_device_name(struct ibv_device *device)
{
    return device ? device->name : NULL;
}

static __be64 device_guid(struct ibv_device *device)
{
    struct fake_device *d = (struct fake_device *)device;
    return htobe64(0x0200000000000000ull | (uint64_t)(d->index + 1));
}

__be64 ibv_get_device_guid(struct ibv_device *device)
{
    return device_guid(device);
}

struct ibv_context *ibv_open_device(struct ibv_device *device)
{
    struct fake_context *c = calloc(1, sizeof(*c));
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    struct fake_device *d = (struct fake_device *)device;
    atomic_fetch_add(&d->refs, 1);
    c->dev = d;
    c->ctx.device = device;
    c->ctx.cmd_fd = -1;
    c->ctx.async_fd = -1;
    c->ctx.num_comp_vectors = 1;
    pthread_mutex_init(&c->ctx.mutex, NULL);
    c->ctx.ops.poll_cq = fake_poll_cq;
    c->ctx.ops.req_notify_cq = fake_req_notify_cq;
    c->ctx.ops.post_send = fake_post_send;
    c->ctx.ops.post_recv = fake_post_recv;
    return &c->ctx;
}

int ibv_close_device(struct ibv_context *context)
{
    struct fake_context *c = (struct fake_context *)context;
    if (atomic_load(&c->children) > 0)
        return EBUSY; /* stricter than rdma-core, so that a wrong teardown order shows in tests */
    pthread_mutex_destroy(&c->ctx.mutex);
    device_put(c->dev);
    free(c);
    return 0;
}

int ibv_query_device(struct ibv_context *context, struct ibv_device_attr *attr)
{
    struct fake_context *c = (struct fake_context *)context;
    memset(attr, 0, sizeof(*attr));
    snprintf(attr->fw_ver, sizeof(attr->fw_ver), "1.0.0 (fake)");
    attr->node_guid = device_guid(context->device);
    attr->sys_image_guid = attr->node_guid;
    attr->max_mr_size = 1ull << 40;
    attr->page_size_cap = 0xfffff000;
    attr->vendor_id = 0;
    attr->hw_ver = 1;
    attr->max_qp = 1024;
    attr->max_qp_wr = 16384;
    attr->max_sge = 30;
    attr->max_sge_rd = 30;
    attr->max_cq = 1024;
    attr->max_cqe = 65536;
    attr->max_mr = 65536;
    attr->max_pd = 1024;
    attr->max_qp_rd_atom = 16;
    attr->max_qp_init_rd_atom = 16;
    attr->max_res_rd_atom = 16 * 1024;
    attr->atomic_cap = IBV_ATOMIC_NONE;
    attr->max_pkeys = 1;
    attr->local_ca_ack_delay = 16;
    attr->phys_port_cnt = 1;
    (void)c;
    return 0;
}

/* The exported symbol fills the compat prefix of struct ibv_port_attr (everything before port_cap_flags2), as
 * rdma-core's ibv_query_port@@IBVERBS_1.1 does; the inline ___ibv_query_port of verbs.h falls back to it. */
int ibv_query_port(struct ibv_context *context, uint8_t port_num, struct _compat_ibv_port_attr *port_attr)
{
    struct fake_device *d = ((struct fake_context *)context)->dev;
    if (port_num != 1)
        return EINVAL;
    struct ibv_port_attr a;
    memset(&a, 0, sizeof(a));
    a.state = d->state;
    a.max_mtu = IBV_MTU_4096;
    a.active_mtu = d->active_mtu;
    a.gid_tbl_len = d->ngids;
    a.max_msg_sz = 0x80000000u;
    a.pkey_tbl_len = 1;
    a.lid = d->link_layer == IBV_LINK_LAYER_INFINIBAND ? (uint16_t)(d->index + 1) : 0;
    a.max_vl_num = 1;
    a.active_width = 2;  /* 4X */
    a.active_speed = 32; /* EDR */
    a.phys_state = d->state == IBV_PORT_ACTIVE ? 5 : 3;
    a.link_layer = d->link_layer;
    a.flags = d->link_layer == IBV_LINK_LAYER_ETHERNET ? IBV_QPF_GRH_REQUIRED : 0;
    memcpy(port_attr, &a, COMPAT_PORT_ATTR_SIZE);
    return 0;
}

int ibv_query_gid(struct ibv_context *context, uint8_t port_num, int index, union ibv_gid *gid)
{
    struct fake_device *d = ((struct fake_context *)context)->dev;
    if (port_num != 1 || index < 0 || index >= d->ngids)
        return EINVAL;
    memcpy(gid->raw, d->gids[index].raw, 16);
    return 0;
}

int _ibv_query_gid_ex(struct ibv_context *context, uint32_t port_num, uint32_t gid_index,
                      struct ibv_gid_entry *entry, uint32_t flags, size_t entry_size)
{
    static const uint8_t zero[16];
    pthread_mutex_lock(&g_config_lock);
    int enabled = g_gid_ex;
    pthread_mutex_unlock(&g_config_lock);
    if (!enabled)
        return EOPNOTSUPP;
    struct fake_device *d = ((struct fake_context *)context)->dev;
    if (port_num != 1 || gid_index >= (uint32_t)d->ngids || flags != 0 || entry_size < sizeof(*entry))
        return EINVAL;
    if (!memcmp(d->gids[gid_index].raw, zero, 16))
        return ENODATA;
    memset(entry, 0, sizeof(*entry));
    memcpy(entry->gid.raw, d->gids[gid_index].raw, 16);
    entry->gid_index = gid_index;
    entry->port_num = port_num;
    entry->gid_type = d->gids[gid_index].type;
    entry->ndev_ifindex = d->netdev[0] ? if_nametoindex(d->netdev) : 0;
    return 0;
}

struct ibv_pd *ibv_alloc_pd(struct ibv_context *context)
{
    struct fake_pd *p = calloc(1, sizeof(*p));
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    static atomic_uint handles;
    p->pd.context = context;
    p->pd.handle = atomic_fetch_add(&handles, 1);
    atomic_fetch_add(&((struct fake_context *)context)->children, 1);
    return &p->pd;
}

int ibv_dealloc_pd(struct ibv_pd *pd)
{
    struct fake_pd *p = (struct fake_pd *)pd;
    if (atomic_load(&p->children) > 0)
        return EBUSY;
    atomic_fetch_sub(&((struct fake_context *)pd->context)->children, 1);
    free(p);
    return 0;
}

/* Internal calls go to static functions, so they never bind to another libibverbs loaded in the same process. */
static struct ibv_mr *reg_mr(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova, unsigned int access)
{
    access &= ~(unsigned int)IBV_ACCESS_OPTIONAL_RANGE; /* optional bits: dropped where unsupported */
    if ((access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) && !(access & IBV_ACCESS_LOCAL_WRITE)) {
        errno = EINVAL;
        return NULL;
    }
    if (!addr && length > 0) {
        errno = EFAULT;
        return NULL;
    }
    struct fake_mr *m = calloc(1, sizeof(*m));
    if (!m) {
        errno = ENOMEM;
        return NULL;
    }
    m->mr.context = pd->context;
    m->mr.pd = pd;
    m->mr.addr = addr;
    m->mr.length = length;
    m->iova = iova;
    m->access = access;
    pthread_rwlock_wrlock(&g_mr_lock);
    uint32_t key = g_next_key++;
    m->mr.handle = key;
    m->mr.lkey = (key << 8) | 0x11;
    m->mr.rkey = (key << 8) | 0x22; /* different from the lkey, so a mixed-up key fails */
    m->next = g_mrs;
    g_mrs = m;
    pthread_rwlock_unlock(&g_mr_lock);
    atomic_fetch_add(&((struct fake_pd *)pd)->children, 1);
    return &m->mr;
}

struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova, unsigned int access)
{
    return reg_mr(pd, addr, length, iova, access);
}

struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length, int access)
{
    return reg_mr(pd, addr, length, (uintptr_t)addr, (unsigned int)access);
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
    struct fake_mr *m = (struct fake_mr *)mr;
    pthread_rwlock_wrlock(&g_mr_lock);
    for (struct fake_mr **p = &g_mrs; *p; p = &(*p)->next) {
        if (*p == m) {
            *p = m->next;
            break;
        }
    }
    pthread_rwlock_unlock(&g_mr_lock);
    atomic_fetch_sub(&((struct fake_pd *)mr->pd)->children, 1);
    free(m);
    return 0;
}

struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *context)
{
    struct fake_channel *ch = calloc(1, sizeof(*ch));
    int fds[2];
    if (!ch || pipe2(fds, O_CLOEXEC) != 0) {
        free(ch);
        errno = ENOMEM;
        return NULL;
    }
    ch->ch.context = context;
    ch->ch.fd = fds[0];
    ch->wfd = fds[1];
    pthread_mutex_init(&ch->lock, NULL);
    atomic_fetch_add(&((struct fake_context *)context)->children, 1);
    return &ch->ch;
}

int ibv_destroy_comp_channel(struct ibv_comp_channel *channel)
{
    struct fake_channel *ch = (struct fake_channel *)channel;
    pthread_mutex_lock(&ch->lock);
    int refs = ch->ch.refcnt;
    pthread_mutex_unlock(&ch->lock);
    if (refs > 0)
        return EBUSY;
    atomic_fetch_sub(&((struct fake_context *)channel->context)->children, 1);
    close(ch->ch.fd);
    close(ch->wfd);
    pthread_mutex_destroy(&ch->lock);
    free(ch->events);
    free(ch);
    return 0;
}

struct ibv_cq *ibv_create_cq(struct ibv_context *context, int cqe, void *cq_context,
                             struct ibv_comp_channel *channel, int comp_vector)
{
    if (cqe < 1 || cqe > 65536 || comp_vector < 0 || comp_vector >= context->num_comp_vectors) {
        errno = EINVAL;
        return NULL;
    }
    struct fake_cq *c = calloc(1, sizeof(*c));
    struct ibv_wc *ring = calloc((size_t)cqe, sizeof(*ring));
    if (!c || !ring) {
        free(c);
        free(ring);
        errno = ENOMEM;
        return NULL;
    }
    c->ring = ring;
    c->cap = cqe;
    c->cq.context = context;
    c->cq.channel = channel;
    c->cq.cq_context = cq_context;
    c->cq.cqe = cqe;
    pthread_mutex_init(&c->lock, NULL);
    if (channel) {
        struct fake_channel *ch = (struct fake_channel *)channel;
        pthread_mutex_lock(&ch->lock);
        channel->refcnt++;
        pthread_mutex_unlock(&ch->lock);
    }
    atomic_fetch_add(&((struct fake_context *)context)->children, 1);
    return &c->cq;
}

int ibv_destroy_cq(struct ibv_cq *cq)
{
    struct fake_cq *c = (struct fake_cq *)cq;
    if (atomic_load(&c->qps) > 0)
        return EBUSY;
    /* rdma-core waits (forever) for every event read to be acknowledged; the fake says so instead. */
    if (atomic_load(&c->events_read) != atomic_load(&c->events_acked))
        return EBUSY;
    if (cq->channel) {
        struct fake_channel *ch = (struct fake_channel *)cq->channel;
        pthread_mutex_lock(&ch->lock);
        int was = ch->nevents, k = 0;
        for (int i = 0; i < ch->nevents; i++)
            if (ch->events[i] != cq)
                ch->events[k++] = ch->events[i];
        ch->nevents = k;
        if (was > 0 && k == 0) {
            char b;
            (void)!read(ch->ch.fd, &b, 1);
        }
        ch->ch.refcnt--;
        pthread_mutex_unlock(&ch->lock);
    }
    atomic_fetch_sub(&((struct fake_context *)cq->context)->children, 1);
    pthread_mutex_destroy(&c->lock);
    free(c->ring);
    free(c);
    return 0;
}

int ibv_get_cq_event(struct ibv_comp_channel *channel, struct ibv_cq **cq, void **cq_context)
{
    struct fake_channel *ch = (struct fake_channel *)channel;
    bool nonblocking = (fcntl(channel->fd, F_GETFL) & O_NONBLOCK) != 0;
    pthread_mutex_lock(&ch->lock);
    while (ch->nevents == 0) {
        pthread_mutex_unlock(&ch->lock);
        if (nonblocking) {
            errno = EAGAIN;
            return -1;
        }
        struct pollfd p = { .fd = channel->fd, .events = POLLIN };
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return -1;
        pthread_mutex_lock(&ch->lock);
    }
    struct ibv_cq *c = ch->events[0];
    memmove(ch->events, ch->events + 1, sizeof(*ch->events) * (size_t)(ch->nevents - 1));
    ch->nevents--;
    if (ch->nevents == 0) {
        char b;
        (void)!read(channel->fd, &b, 1);
    }
    atomic_fetch_add(&((struct fake_cq *)c)->events_read, 1);
    pthread_mutex_unlock(&ch->lock);
    *cq = c;
    *cq_context = c->cq_context;
    return 0;
}

void ibv_ack_cq_events(struct ibv_cq *cq, unsigned int nevents)
{
    atomic_fetch_add(&((struct fake_cq *)cq)->events_acked, nevents);
}

struct ibv_qp *ibv_create_qp(struct ibv_pd *pd, struct ibv_qp_init_attr *init)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (init->qp_type != IBV_QPT_RC) {
        errno = EOPNOTSUPP; /* the fake speaks RC only */
        return NULL;
    }
    if (!init->send_cq || !init->recv_cq || init->srq || init->cap.max_send_wr > 16384 ||
        init->cap.max_recv_wr > 16384 || init->cap.max_send_sge > 30 || init->cap.max_recv_sge > 30 ||
        init->cap.max_inline_data > 256) {
        errno = EINVAL;
        return NULL;
    }
    pthread_once(&once, start_service);
    if (g_epoll < 0) {
        errno = ENOMEM;
        return NULL;
    }
    struct fake_qp *q = calloc(1, sizeof(*q));
    if (!q) {
        errno = ENOMEM;
        return NULL;
    }
    q->qp.context = pd->context;
    q->qp.qp_context = init->qp_context;
    q->qp.pd = pd;
    q->qp.send_cq = init->send_cq;
    q->qp.recv_cq = init->recv_cq;
    q->qp.qp_type = IBV_QPT_RC;
    q->qp.state = IBV_QPS_RESET;
    q->fctx = (struct fake_context *)pd->context;
    q->cap = init->cap;
    if (q->cap.max_send_wr == 0)
        q->cap.max_send_wr = 1;
    if (q->cap.max_recv_wr == 0)
        q->cap.max_recv_wr = 1;
    init->cap = q->cap; /* the actual sizes, as providers report them */
    q->sq_sig_all = init->sq_sig_all != 0;
    q->out_fd = -1;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    pthread_mutex_init(&q->send_lock, NULL);

    /* A QP number is ours once its socket name is bound: the name space is host-wide, so QP numbers are unique
     * across processes. */
    q->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    bool bound = false;
    for (int tries = 0; q->listen_fd >= 0 && tries < 65536 && !bound; tries++) {
        uint32_t qpn = __atomic_fetch_add(&g_qpn_counter, 1, __ATOMIC_RELAXED) & 0xffffff;
        if (qpn < 16)
            continue;
        struct sockaddr_un sa;
        socklen_t len;
        socket_name(qpn, &sa, &len);
        if (bind(q->listen_fd, (struct sockaddr *)&sa, len) == 0) {
            q->qp.qp_num = qpn;
            bound = true;
        }
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = q->qp.qp_num };
    if (!bound || listen(q->listen_fd, 16) != 0) {
        if (q->listen_fd >= 0)
            close(q->listen_fd);
        free(q);
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&g_qp_lock);
    if (g_nqps == g_capqps) {
        int cap = g_capqps ? g_capqps * 2 : 16;
        struct fake_qp **n = realloc(g_qps, sizeof(*n) * (size_t)cap);
        if (!n) {
            pthread_mutex_unlock(&g_qp_lock);
            close(q->listen_fd);
            free(q);
            errno = ENOMEM;
            return NULL;
        }
        g_qps = n;
        g_capqps = cap;
    }
    g_qps[g_nqps++] = q;
    epoll_ctl(g_epoll, EPOLL_CTL_ADD, q->listen_fd, &ev);
    pthread_mutex_unlock(&g_qp_lock);
    atomic_fetch_add(&((struct fake_pd *)pd)->children, 1);
    atomic_fetch_add(&((struct fake_cq *)init->send_cq)->qps, 1);
    atomic_fetch_add(&((struct fake_cq *)init->recv_cq)->qps, 1);
    return &q->qp;
}

/* Required and allowed attribute masks for RC transitions (ibv_modify_qp(3)). */
static bool rc_masks(enum ibv_qp_state cur, enum ibv_qp_state next, int *req, int *opt)
{
    *req = IBV_QP_STATE;
    *opt = 0;
    if (next == IBV_QPS_RESET || next == IBV_QPS_ERR)
        return true;
    if (cur == IBV_QPS_RESET && next == IBV_QPS_INIT) {
        *req |= IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS;
        return true;
    }
    if (cur == IBV_QPS_INIT && next == IBV_QPS_INIT) {
        *opt = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS;
        return true;
    }
    if (cur == IBV_QPS_INIT && next == IBV_QPS_RTR) {
        *req |= IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
                IBV_QP_MIN_RNR_TIMER;
        *opt = IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS | IBV_QP_PKEY_INDEX;
        return true;
    }
    if (cur == IBV_QPS_RTR && next == IBV_QPS_RTS) {
        *req |= IBV_QP_SQ_PSN | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC;
        *opt = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS | IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE |
               IBV_QP_MIN_RNR_TIMER;
        return true;
    }
    if (cur == IBV_QPS_RTS && next == IBV_QPS_RTS) {
        *opt = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS | IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE |
               IBV_QP_MIN_RNR_TIMER;
        return true;
    }
    return false;
}

int ibv_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr, int mask)
{
    struct fake_qp *q = (struct fake_qp *)qp;
    struct fake_device *d = q->fctx->dev;
    if (!(mask & IBV_QP_STATE))
        return EINVAL; /* the fake models transitions only */
    pthread_mutex_lock(&q->send_lock);
    pthread_mutex_lock(&q->lock);
    enum ibv_qp_state cur = q->qp.state, next = attr->qp_state;
    int req, opt, rc = 0;
    if (!rc_masks(cur, next, &req, &opt) || (mask & req) != req || (mask & ~(req | opt)) != 0)
        rc = EINVAL;
    if (!rc && (mask & IBV_QP_PORT) && attr->port_num != 1)
        rc = EINVAL;
    if (!rc && next != cur && take_injected_modify_failure(next))
        rc = EINVAL;
    if (!rc && next == IBV_QPS_RTR) {
        const struct ibv_ah_attr *ah = &attr->ah_attr;
        if ((d->link_layer == IBV_LINK_LAYER_ETHERNET && !ah->is_global) || attr->path_mtu < IBV_MTU_256 ||
            attr->path_mtu > d->active_mtu || (ah->port_num != 0 && ah->port_num != 1) ||
            (ah->is_global && ah->grh.sgid_index >= d->ngids) || attr->dest_qp_num > 0xffffff)
            rc = EINVAL;
        static const uint8_t zero[16];
        if (!rc && ah->is_global && !memcmp(d->gids[ah->grh.sgid_index].raw, zero, 16))
            rc = EINVAL; /* the source GID slot is empty */
    }
    if (!rc) {
        if (mask & IBV_QP_ACCESS_FLAGS)
            q->access = attr->qp_access_flags;
        if (mask & IBV_QP_PORT)
            q->port = attr->port_num;
        if (mask & IBV_QP_MIN_RNR_TIMER)
            q->min_rnr_timer = attr->min_rnr_timer;
        switch (next) {
        case IBV_QPS_RESET:
            /* Reset discards both queues without completions; the queue goes first so that the reader, woken by
             * the disconnect, finds nothing to fail. */
            while (q->pend_head) {
                struct pending *e = q->pend_head;
                q->pend_head = e->next;
                free(e->sge);
                free(e);
            }
            q->pend_tail = NULL;
            q->pend_count = 0;
            while (q->rq_head) {
                struct recv_entry *r = q->rq_head;
                q->rq_head = r->next;
                free(r);
            }
            q->rq_tail = NULL;
            q->rq_count = 0;
            disconnect_locked(q);
            q->qp.state = IBV_QPS_RESET;
            break;
        case IBV_QPS_ERR:
            enter_error_locked(q);
            drain_locked(q);
            break;
        case IBV_QPS_RTR:
            q->ah = attr->ah_attr;
            q->path_mtu = attr->path_mtu;
            q->dest_qpn = attr->dest_qp_num;
            q->rq_psn = attr->rq_psn & 0xffffff;
            q->expected_psn = q->rq_psn;
            q->max_dest_rd_atomic = attr->max_dest_rd_atomic;
            if (q->ah.is_global)
                memcpy(q->sgid, d->gids[q->ah.grh.sgid_index].raw, 16);
            else
                memset(q->sgid, 0, 16);
            q->qp.state = IBV_QPS_RTR;
            connect_locked(q);
            break;
        case IBV_QPS_RTS:
            if (mask & IBV_QP_SQ_PSN) {
                q->sq_psn = attr->sq_psn & 0xffffff;
                q->next_psn = q->sq_psn;
            }
            if (mask & IBV_QP_TIMEOUT)
                q->timeout = attr->timeout;
            if (mask & IBV_QP_RETRY_CNT)
                q->retry_cnt = attr->retry_cnt;
            if (mask & IBV_QP_RNR_RETRY)
                q->rnr_retry = attr->rnr_retry;
            if (mask & IBV_QP_MAX_QP_RD_ATOMIC)
                q->max_rd_atomic = attr->max_rd_atomic;
            q->qp.state = IBV_QPS_RTS;
            break;
        default:
            q->qp.state = next;
            break;
        }
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    pthread_mutex_unlock(&q->send_lock);
    return rc;
}

int ibv_query_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr, int mask, struct ibv_qp_init_attr *init)
{
    struct fake_qp *q = (struct fake_qp *)qp;
    (void)mask; /* everything is answered, as providers commonly do */
    pthread_mutex_lock(&q->lock);
    memset(attr, 0, sizeof(*attr));
    attr->qp_state = q->qp.state;
    attr->cur_qp_state = q->qp.state;
    attr->path_mtu = q->path_mtu;
    attr->rq_psn = q->rq_psn;
    attr->sq_psn = q->sq_psn;
    attr->dest_qp_num = q->dest_qpn;
    attr->qp_access_flags = q->access;
    attr->cap = q->cap;
    attr->ah_attr = q->ah;
    attr->max_rd_atomic = q->max_rd_atomic;
    attr->max_dest_rd_atomic = q->max_dest_rd_atomic;
    attr->min_rnr_timer = q->min_rnr_timer;
    attr->port_num = q->port;
    attr->timeout = q->timeout;
    attr->retry_cnt = q->retry_cnt;
    attr->rnr_retry = q->rnr_retry;
    if (init) {
        memset(init, 0, sizeof(*init));
        init->qp_context = q->qp.qp_context;
        init->send_cq = q->qp.send_cq;
        init->recv_cq = q->qp.recv_cq;
        init->cap = q->cap;
        init->qp_type = IBV_QPT_RC;
        init->sq_sig_all = q->sq_sig_all;
    }
    pthread_mutex_unlock(&q->lock);
    return 0;
}

int ibv_destroy_qp(struct ibv_qp *qp)
{
    struct fake_qp *q = (struct fake_qp *)qp;
    pthread_mutex_lock(&g_qp_lock);
    for (int i = 0; i < g_nqps; i++) {
        if (g_qps[i] == q) {
            g_qps[i] = g_qps[--g_nqps];
            break;
        }
    }
    epoll_ctl(g_epoll, EPOLL_CTL_DEL, q->listen_fd, NULL);
    pthread_mutex_unlock(&g_qp_lock);
    close(q->listen_fd);

    pthread_mutex_lock(&q->send_lock);
    pthread_mutex_lock(&q->lock);
    q->dying = true;
    pthread_cond_broadcast(&q->cond);
    for (struct in_conn *c = q->in_conns; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    disconnect_locked(q);
    while (q->in_threads > 0)
        pthread_cond_wait(&q->cond, &q->lock);
    while (q->pend_head) {
        struct pending *e = q->pend_head;
        q->pend_head = e->next;
        free(e->sge);
        free(e);
    }
    while (q->rq_head) {
        struct recv_entry *r = q->rq_head;
        q->rq_head = r->next;
        free(r);
    }
    pthread_mutex_unlock(&q->lock);
    pthread_mutex_unlock(&q->send_lock);

    atomic_fetch_sub(&((struct fake_pd *)qp->pd)->children, 1);
    atomic_fetch_sub(&((struct fake_cq *)qp->send_cq)->qps, 1);
    atomic_fetch_sub(&((struct fake_cq *)qp->recv_cq)->qps, 1);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->send_lock);
    free(q);
    return 0;
}

const char *ibv_wc_status_str(enum ibv_wc_status status)
{
    switch (status) {
    case IBV_WC_SUCCESS: return "success";
    case IBV_WC_LOC_LEN_ERR: return "local length error";
    case IBV_WC_LOC_QP_OP_ERR: return "local QP operation error";
    case IBV_WC_LOC_EEC_OP_ERR: return "local EE context operation error";
    case IBV_WC_LOC_PROT_ERR: return "local protection error";
    case IBV_WC_WR_FLUSH_ERR: return "Work Request Flushed Error";
    case IBV_WC_MW_BIND_ERR: return "memory management operation error";
    case IBV_WC_BAD_RESP_ERR: return "bad response error";
    case IBV_WC_LOC_ACCESS_ERR: return "local access error";
    case IBV_WC_REM_INV_REQ_ERR: return "remote invalid request error";
    case IBV_WC_REM_ACCESS_ERR: return "remote access error";
    case IBV_WC_REM_OP_ERR: return "remote operation error";
    case IBV_WC_RETRY_EXC_ERR: return "transport retry counter exceeded";
    case IBV_WC_RNR_RETRY_EXC_ERR: return "RNR retry counter exceeded";
    case IBV_WC_FATAL_ERR: return "fatal error";
    case IBV_WC_RESP_TIMEOUT_ERR: return "response timeout error";
    case IBV_WC_GENERAL_ERR: return "general error";
    default: return "unknown";
    }
}
