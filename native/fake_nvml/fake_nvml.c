/*
 * A stand-in for libnvidia-ml.so.1 that answers NVML calls from a host description
 * (tests/fixtures/hosts/NAME.host), so that DataPlane's real P/Invoke path to NVML runs in CI without GPUs.
 * It exports the NVML functions declared in native/nvml/dataplane_nvml.h with the same ABI, and imitates
 * the driver's conventions where they matter to callers:
 *   - every call but nvmlErrorString returns NVML_ERROR_UNINITIALIZED before a successful init;
 *   - init is reference-counted; the host file is read on the first init and dropped on the last shutdown;
 *   - per-link calls return NVML_ERROR_INVALID_ARGUMENT for link indices at or past the link count (field 91)
 *     and NVML_ERROR_NOT_SUPPORTED on a GPU without NVLink;
 *   - on NVSwitch systems the remote PCI info of a link is the switch's, and the remote type is SWITCH;
 *   - string buffers that are too small give NVML_ERROR_INSUFFICIENT_SIZE;
 *   - nvmlDeviceGetFieldValues reports a status per value (unknown fields: NVML_ERROR_NOT_SUPPORTED).
 *
 * Configuration (read at the first init):
 *   DATAPLANE_FAKE_NVML_HOST=<path>         the host file; without it init returns NVML_ERROR_DRIVER_NOT_LOADED
 *   DATAPLANE_FAKE_NVML_INIT_ERROR=<code>   init fails with that nvmlReturn_t
 *   DATAPLANE_FAKE_NVML_LOST=<index>        calls on that GPU return NVML_ERROR_GPU_IS_LOST
 * The dataplane_fake_nvml_set_* exports override these for in-process tests: a managed runtime's view of the
 * environment is not always the C library's, and a test should not have to change its whole process.
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror -fPIC -shared -o libnvidia-ml.so.1 fake_nvml.c
 */
#define _POSIX_C_SOURCE 200809L
#include "../nvml/dataplane_nvml.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

#define MAX_GPUS 64
#define MAX_LINKS 36
#define MAX_NUMA 64
#define MAX_CPUS 4096
#define MAX_PAIRS 256
#define CPU_WORDS (MAX_CPUS / 64)

/* Counter growth per read, in KiB: link-dependent so that tests can tell links apart. */
#define TX_STEP_KIB(link) (64ull * ((unsigned long long)(link) + 1))
#define RX_STEP_KIB(link) (32ull * ((unsigned long long)(link) + 1))
#define LINK_SPEED_MBPS 25000u

struct pci {
    unsigned int domain, bus, device, function;
};

struct nvmlDevice_st {
    unsigned int index;
    struct pci pci;
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    int numa;                      /* -1 when unknown */
    unsigned int links;            /* field 91 */
    unsigned int version;          /* nvmlNvlinkVersion_t */
    unsigned int nvswitch;         /* field 147 */
    int remote_is_switch;          /* remote=switch:<bdf> */
    struct pci remote_switch;
    int remote_gpu;                /* remote=gpu:<index>, -1 otherwise */
    int inactive[MAX_LINKS];
    unsigned long long tx_kib[MAX_LINKS];
    unsigned long long rx_kib[MAX_LINKS];
};

struct numa_node {
    int id;
    uint64_t cpus[CPU_WORDS];
};

struct pair_level {
    unsigned int a, b;
    nvmlGpuTopologyLevel_t level;
};

struct host {
    char driver[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
    unsigned int gpu_count;
    struct nvmlDevice_st gpus[MAX_GPUS];
    unsigned int numa_count;
    struct numa_node numa[MAX_NUMA];
    unsigned int pair_count;
    struct pair_level pairs[MAX_PAIRS];
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int g_init_count;
static struct host *g_host;
static int g_lost = -1;
static long long g_clock_us = 1700000000000000ll;

/* Test overrides (dataplane_fake_nvml_set_*); "unset" falls back to the environment. */
static char *g_host_override;
static int g_init_error_override = -1;
static int g_lost_override = -2; /* -2: unset, -1: no GPU lost */

/* ------------------------------------------------------------------------------------------------ */
/* Parsing the host file                                                                             */

static int parse_pci(const char *s, struct pci *out)
{
    char tail;
    if (sscanf(s, "%x:%x:%x.%x%c", &out->domain, &out->bus, &out->device, &out->function, &tail) != 4) {
        return -1;
    }
    return 0;
}

static int parse_cpulist(const char *s, uint64_t *words)
{
    while (*s != '\0') {
        char *end;
        long from = strtol(s, &end, 10);
        long to = from;
        if (end == s || from < 0) {
            return -1;
        }
        s = end;
        if (*s == '-') {
            s++;
            to = strtol(s, &end, 10);
            if (end == s || to < from) {
                return -1;
            }
            s = end;
        }
        if (to >= MAX_CPUS) {
            return -1;
        }
        for (long c = from; c <= to; c++) {
            words[c / 64] |= 1ull << (c % 64);
        }
        if (*s == ',') {
            s++;
        } else if (*s != '\0') {
            return -1;
        }
    }
    return 0;
}

static int parse_level(const char *s, nvmlGpuTopologyLevel_t *level)
{
    static const struct {
        const char *name;
        nvmlGpuTopologyLevel_t level;
    } names[] = {
        {"X", NVML_TOPOLOGY_INTERNAL}, {"PIX", NVML_TOPOLOGY_SINGLE}, {"PXB", NVML_TOPOLOGY_MULTIPLE},
        {"PHB", NVML_TOPOLOGY_HOSTBRIDGE}, {"NODE", NVML_TOPOLOGY_NODE}, {"SYS", NVML_TOPOLOGY_SYSTEM},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *level = names[i].level;
            return 0;
        }
    }
    return -1;
}

/* Splits a line into blank-separated fields in place; a double-quoted run (also after "key=") keeps its
 * blanks and loses its quotes. Returns the number of fields, or -1 when there are too many. */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (n == max) {
            return -1;
        }
        fields[n++] = p;
        char *out = p;
        int quoted = 0;
        while (*p != '\0' && (quoted || (*p != ' ' && *p != '\t'))) {
            if (*p == '"') {
                quoted = !quoted;
                p++;
                continue;
            }
            *out++ = *p++;
        }
        if (*p != '\0') {
            p++;
        }
        *out = '\0';
    }
    return n;
}

static int parse_uint(const char *s, unsigned int *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || v > UINT_MAX) {
        return -1;
    }
    *out = (unsigned int)v;
    return 0;
}

static void copy_string(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

static int parse_gpu(struct host *h, char **f, int n)
{
    if (n < 4 || h->gpu_count == MAX_GPUS) {
        return -1;
    }
    struct nvmlDevice_st *g = &h->gpus[h->gpu_count];
    memset(g, 0, sizeof *g);
    g->numa = -1;
    g->remote_gpu = -1;
    if (parse_uint(f[1], &g->index) != 0 || g->index != h->gpu_count || parse_pci(f[2], &g->pci) != 0) {
        return -1; /* GPU lines come in index order, as NVML numbers them */
    }
    for (int i = 4; i < n; i++) {
        char *eq = strchr(f[i], '=');
        if (eq == NULL) {
            return -1;
        }
        *eq = '\0';
        const char *key = f[i], *value = eq + 1;
        unsigned int u;
        if (strcmp(key, "name") == 0) {
            copy_string(g->name, sizeof g->name, value);
        } else if (strcmp(key, "uuid") == 0) {
            copy_string(g->uuid, sizeof g->uuid, value);
        } else if (strcmp(key, "numa") == 0) {
            if (parse_uint(value, &u) != 0) {
                return -1;
            }
            g->numa = (int)u;
        } else if (strcmp(key, "links") == 0) {
            if (parse_uint(value, &g->links) != 0 || g->links > MAX_LINKS) {
                return -1;
            }
        } else if (strcmp(key, "version") == 0) {
            if (parse_uint(value, &g->version) != 0) {
                return -1;
            }
        } else if (strcmp(key, "nvswitch") == 0) {
            if (parse_uint(value, &g->nvswitch) != 0) {
                return -1;
            }
        } else if (strcmp(key, "remote") == 0) {
            if (strncmp(value, "switch:", 7) == 0) {
                g->remote_is_switch = 1;
                if (parse_pci(value + 7, &g->remote_switch) != 0) {
                    return -1;
                }
            } else if (strncmp(value, "gpu:", 4) == 0) {
                if (parse_uint(value + 4, &u) != 0) {
                    return -1;
                }
                g->remote_gpu = (int)u;
            } else {
                return -1;
            }
        } else if (strcmp(key, "inactive") == 0) {
            char *copy = strdup(value);
            if (copy == NULL) {
                return -1;
            }
            int bad = 0;
            char *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
                if (parse_uint(t, &u) != 0 || u >= MAX_LINKS) {
                    bad = 1;
                    break;
                }
                g->inactive[u] = 1;
            }
            free(copy);
            if (bad) {
                return -1;
            }
        }
        /* Other keys belong to other readers of the host file. */
    }
    h->gpu_count++;
    return 0;
}

static int parse_line(struct host *h, char *line)
{
    char *hash = strchr(line, '#');
    if (hash != NULL) {
        *hash = '\0';
    }
    char *fields[64];
    int n = split_fields(line, fields, 64);
    if (n < 0) {
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    if (strcmp(fields[0], "driver") == 0) {
        if (n != 2) {
            return -1;
        }
        copy_string(h->driver, sizeof h->driver, fields[1]);
    } else if (strcmp(fields[0], "numa") == 0) {
        unsigned int id;
        if (n != 3 || h->numa_count == MAX_NUMA || parse_uint(fields[1], &id) != 0) {
            return -1;
        }
        struct numa_node *node = &h->numa[h->numa_count++];
        memset(node, 0, sizeof *node);
        node->id = (int)id;
        return parse_cpulist(fields[2], node->cpus);
    } else if (strcmp(fields[0], "gpu") == 0) {
        return parse_gpu(h, fields, n);
    } else if (strcmp(fields[0], "pcilevel") == 0) {
        struct pair_level p;
        if (n != 4 || h->pair_count == MAX_PAIRS || parse_uint(fields[1], &p.a) != 0 ||
            parse_uint(fields[2], &p.b) != 0 || parse_level(fields[3], &p.level) != 0) {
            return -1;
        }
        h->pairs[h->pair_count++] = p;
    }
    /* cpus, bridge, nic, netdev, sysctl: sysfs facts, not NVML's. */
    return 0;
}

static struct host *load_host(const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        fprintf(stderr, "fake_nvml: cannot open host file %s\n", path);
        return NULL;
    }
    struct host *h = calloc(1, sizeof *h);
    char line[1024];
    int number = 0, failed = h == NULL;
    while (!failed && fgets(line, sizeof line, file) != NULL) {
        number++;
        line[strcspn(line, "\r\n")] = '\0';
        if (parse_line(h, line) != 0) {
            fprintf(stderr, "fake_nvml: %s:%d: cannot parse this line\n", path, number);
            failed = 1;
        }
    }
    fclose(file);
    for (unsigned int i = 0; !failed && i < h->gpu_count; i++) {
        int remote = h->gpus[i].remote_gpu;
        if (remote >= (int)h->gpu_count) {
            fprintf(stderr, "fake_nvml: %s: GPU %u links to GPU %d, which is not described\n", path, i, remote);
            failed = 1;
        }
    }
    if (failed) {
        free(h);
        return NULL;
    }
    return h;
}

/* ------------------------------------------------------------------------------------------------ */
/* Helpers                                                                                           */

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        return fallback;
    }
    char *end;
    long n = strtol(v, &end, 10);
    return (*end == '\0' && n >= INT_MIN && n <= INT_MAX) ? (int)n : fallback;
}

/* Checks init and the handle; the lock must be held. */
static nvmlReturn_t check_device(nvmlDevice_t device)
{
    if (g_init_count == 0) {
        return NVML_ERROR_UNINITIALIZED;
    }
    if (device < &g_host->gpus[0] || device >= &g_host->gpus[g_host->gpu_count]) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if ((int)device->index == g_lost) {
        return NVML_ERROR_GPU_IS_LOST;
    }
    return NVML_SUCCESS;
}

/* Checks init, the handle and the link index; the lock must be held. */
static nvmlReturn_t check_link(nvmlDevice_t device, unsigned int link)
{
    nvmlReturn_t r = check_device(device);
    if (r != NVML_SUCCESS) {
        return r;
    }
    if (device->links == 0) {
        return NVML_ERROR_NOT_SUPPORTED;
    }
    return link < device->links ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}

static nvmlReturn_t put_string(char *buffer, unsigned int length, const char *value)
{
    if (buffer == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    size_t need = strlen(value) + 1;
    if (length < need) {
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(buffer, value, need);
    return NVML_SUCCESS;
}

static void fill_pci(nvmlPciInfo_t *out, const struct pci *p, unsigned int device_id, unsigned int subsystem)
{
    memset(out, 0, sizeof *out);
    snprintf(out->busIdLegacy, sizeof out->busIdLegacy, "%04X:%02X:%02X.%X", p->domain & 0xFFFFu, p->bus, p->device,
             p->function);
    snprintf(out->busId, sizeof out->busId, "%08X:%02X:%02X.%X", p->domain, p->bus, p->device, p->function);
    out->domain = p->domain;
    out->bus = p->bus;
    out->device = p->device;
    out->pciDeviceId = device_id;
    out->pciSubSystemId = subsystem;
}

static const struct numa_node *numa_of(const struct nvmlDevice_st *g)
{
    for (unsigned int i = 0; i < g_host->numa_count; i++) {
        if (g_host->numa[i].id == g->numa) {
            return &g_host->numa[i];
        }
    }
    return NULL;
}

static int linked_by_nvlink(const struct nvmlDevice_st *a, const struct nvmlDevice_st *b)
{
    if (a->nvswitch > 0 && b->nvswitch > 0) {
        return 1;
    }
    for (unsigned int l = 0; l < a->links; l++) {
        if (!a->inactive[l] && a->remote_gpu == (int)b->index) {
            return 1;
        }
    }
    return 0;
}

static nvmlGpuTopologyLevel_t level_between(const struct nvmlDevice_st *a, const struct nvmlDevice_st *b)
{
    if (a == b) {
        return NVML_TOPOLOGY_INTERNAL;
    }
    for (unsigned int i = 0; i < g_host->pair_count; i++) {
        const struct pair_level *p = &g_host->pairs[i];
        if ((p->a == a->index && p->b == b->index) || (p->a == b->index && p->b == a->index)) {
            return p->level;
        }
    }
    return (a->numa >= 0 && a->numa == b->numa) ? NVML_TOPOLOGY_NODE : NVML_TOPOLOGY_SYSTEM;
}

/* ------------------------------------------------------------------------------------------------ */
/* Test controls                                                                                     */

/* void dataplane_fake_nvml_set_host(const char *path): the host file for the next first init, overriding
 * DATAPLANE_FAKE_NVML_HOST; NULL returns to the environment. Takes effect when the init count is zero. */
EXPORT void dataplane_fake_nvml_set_host(const char *path)
{
    pthread_mutex_lock(&g_lock);
    free(g_host_override);
    g_host_override = path != NULL ? strdup(path) : NULL;
    pthread_mutex_unlock(&g_lock);
}

/* void dataplane_fake_nvml_set_init_error(int code): init fails with code (0: succeeds), overriding
 * DATAPLANE_FAKE_NVML_INIT_ERROR; a negative code returns to the environment. */
EXPORT void dataplane_fake_nvml_set_init_error(int code)
{
    pthread_mutex_lock(&g_lock);
    g_init_error_override = code < 0 ? -1 : code;
    pthread_mutex_unlock(&g_lock);
}

/* void dataplane_fake_nvml_set_lost(int index): GPU index answers NVML_ERROR_GPU_IS_LOST (-1: none),
 * overriding DATAPLANE_FAKE_NVML_LOST; below -1 returns to the environment. Takes effect at once. */
EXPORT void dataplane_fake_nvml_set_lost(int index)
{
    pthread_mutex_lock(&g_lock);
    g_lost_override = index < -1 ? -2 : index;
    g_lost = g_lost_override != -2 ? g_lost_override : env_int("DATAPLANE_FAKE_NVML_LOST", -1);
    pthread_mutex_unlock(&g_lock);
}

/* ------------------------------------------------------------------------------------------------ */
/* NVML                                                                                              */

EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
    (void)flags; /* the fake always describes at least one GPU or none; both succeed */
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = NVML_SUCCESS;
    int injected = g_init_error_override >= 0 ? g_init_error_override : env_int("DATAPLANE_FAKE_NVML_INIT_ERROR", 0);
    if (injected != 0) {
        r = (nvmlReturn_t)injected;
    } else if (g_init_count == 0) {
        const char *path = g_host_override != NULL ? g_host_override : getenv("DATAPLANE_FAKE_NVML_HOST");
        if (path == NULL || *path == '\0') {
            r = NVML_ERROR_DRIVER_NOT_LOADED;
        } else if ((g_host = load_host(path)) == NULL) {
            r = NVML_ERROR_UNKNOWN;
        } else {
            g_lost = g_lost_override != -2 ? g_lost_override : env_int("DATAPLANE_FAKE_NVML_LOST", -1);
            g_init_count = 1;
        }
    } else {
        g_init_count++;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
    return nvmlInitWithFlags(0);
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = NVML_SUCCESS;
    if (g_init_count == 0) {
        r = NVML_ERROR_UNINITIALIZED;
    } else if (--g_init_count == 0) {
        free(g_host);
        g_host = NULL;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    default: return "Unknown Error";
    }
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = g_init_count == 0 ? NVML_ERROR_UNINITIALIZED : put_string(version, length, g_host->driver);
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = NVML_ERROR_UNINITIALIZED;
    if (g_init_count > 0) {
        /* NVML's version is the CUDA major version followed by the driver version. */
        char text[sizeof g_host->driver + 3];
        snprintf(text, sizeof text, "12.%s", g_host->driver);
        r = put_string(version, length, text);
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = NVML_ERROR_UNINITIALIZED;
    if (g_init_count > 0) {
        r = deviceCount == NULL ? NVML_ERROR_INVALID_ARGUMENT : NVML_SUCCESS;
        if (r == NVML_SUCCESS) {
            *deviceCount = g_host->gpu_count;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = NVML_ERROR_UNINITIALIZED;
    if (g_init_count > 0) {
        r = (device == NULL || index >= g_host->gpu_count) ? NVML_ERROR_INVALID_ARGUMENT : NVML_SUCCESS;
        if (r == NVML_SUCCESS) {
            *device = &g_host->gpus[index];
        }
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_device(device);
    if (r == NVML_SUCCESS) {
        r = put_string(name, length, device->name);
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_device(device);
    if (r == NVML_SUCCESS) {
        r = put_string(uuid, length, device->uuid);
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_device(device);
    if (r == NVML_SUCCESS && index == NULL) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS) {
        *index = device->index;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_device(device);
    if (r == NVML_SUCCESS && pci == NULL) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS) {
        /* NVIDIA's vendor id 0x10de with a made-up device id; the subsystem id carries the index. */
        fill_pci(pci, &device->pci, (0x2330u << 16) | 0x10DEu, (0x1600u + device->index) << 16 | 0x10DEu);
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetCpuAffinityWithinScope(nvmlDevice_t device, unsigned int cpuSetSize,
                                                        unsigned long *cpuSet, nvmlAffinityScope_t scope)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_device(device);
    if (r == NVML_SUCCESS && (cpuSet == NULL || cpuSetSize == 0 ||
                              (scope != NVML_AFFINITY_SCOPE_NODE && scope != NVML_AFFINITY_SCOPE_SOCKET))) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS) {
        /* One NUMA node per socket on the described hosts, so both scopes give the node's CPUs. Like the
         * driver, a short buffer receives the CPUs that fit. */
        const struct numa_node *node = numa_of(device);
        const unsigned int bits = (unsigned int)(sizeof(unsigned long) * CHAR_BIT);
        for (unsigned int w = 0; w < cpuSetSize; w++) {
            unsigned long word = 0;
            for (unsigned int b = 0; node != NULL && b < bits; b++) {
                unsigned int cpu = w * bits + b;
                if (cpu < MAX_CPUS && (node->cpus[cpu / 64] >> (cpu % 64) & 1u) != 0) {
                    word |= 1ul << b;
                }
            }
            cpuSet[w] = word;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetCpuAffinity(nvmlDevice_t device, unsigned int cpuSetSize, unsigned long *cpuSet)
{
    return nvmlDeviceGetCpuAffinityWithinScope(device, cpuSetSize, cpuSet, NVML_AFFINITY_SCOPE_NODE);
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryAffinity(nvmlDevice_t device, unsigned int nodeSetSize, unsigned long *nodeSet,
                                                nvmlAffinityScope_t scope)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_device(device);
    if (r == NVML_SUCCESS && (nodeSet == NULL || nodeSetSize == 0 ||
                              (scope != NVML_AFFINITY_SCOPE_NODE && scope != NVML_AFFINITY_SCOPE_SOCKET))) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS) {
        const unsigned int bits = (unsigned int)(sizeof(unsigned long) * CHAR_BIT);
        memset(nodeSet, 0, nodeSetSize * sizeof(unsigned long));
        if (device->numa >= 0 && (unsigned int)device->numa < nodeSetSize * bits) {
            nodeSet[(unsigned int)device->numa / bits] |= 1ul << ((unsigned int)device->numa % bits);
        }
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link, nvmlEnableState_t *isActive)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_link(device, link);
    if (r == NVML_SUCCESS && isActive == NULL) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS) {
        *isActive = device->inactive[link] ? NVML_FEATURE_DISABLED : NVML_FEATURE_ENABLED;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetNvLinkVersion(nvmlDevice_t device, unsigned int link, unsigned int *version)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_link(device, link);
    if (r == NVML_SUCCESS && version == NULL) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS) {
        *version = device->version;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t device, unsigned int link, nvmlPciInfo_t *pci)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_link(device, link);
    if (r == NVML_SUCCESS && pci == NULL) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS && (device->inactive[link] || (!device->remote_is_switch && device->remote_gpu < 0))) {
        r = NVML_ERROR_NOT_SUPPORTED; /* nothing answers at the far end of a link that is down */
    }
    if (r == NVML_SUCCESS) {
        /* On NVSwitch systems the far end is the switch, not the peer GPU; pciSubSystemId is not filled in. */
        const struct pci *remote =
            device->remote_is_switch ? &device->remote_switch : &g_host->gpus[device->remote_gpu].pci;
        fill_pci(pci, remote, device->remote_is_switch ? (0x22a3u << 16) | 0x10DEu : (0x2330u << 16) | 0x10DEu, 0);
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetNvLinkRemoteDeviceType(nvmlDevice_t device, unsigned int link,
                                                        nvmlIntNvLinkDeviceType_t *pNvLinkDeviceType)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_link(device, link);
    if (r == NVML_SUCCESS && pNvLinkDeviceType == NULL) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS) {
        *pNvLinkDeviceType = device->inactive[link]      ? NVML_NVLINK_DEVICE_TYPE_UNKNOWN
                             : device->remote_is_switch ? NVML_NVLINK_DEVICE_TYPE_SWITCH
                             : device->remote_gpu >= 0  ? NVML_NVLINK_DEVICE_TYPE_GPU
                                                        : NVML_NVLINK_DEVICE_TYPE_UNKNOWN;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetP2PStatus(nvmlDevice_t device1, nvmlDevice_t device2, nvmlGpuP2PCapsIndex_t p2pIndex,
                                           nvmlGpuP2PStatus_t *p2pStatus)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_device(device1);
    if (r == NVML_SUCCESS) {
        r = check_device(device2);
    }
    if (r == NVML_SUCCESS && (p2pStatus == NULL || device1 == device2 || (unsigned int)p2pIndex > NVML_P2P_CAPS_INDEX_PCI)) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS) {
        int nvlink = linked_by_nvlink(device1, device2);
        int pcie = level_between(device1, device2) <= NVML_TOPOLOGY_NODE;
        switch (p2pIndex) {
        case NVML_P2P_CAPS_INDEX_NVLINK:
            *p2pStatus = nvlink ? NVML_P2P_STATUS_OK : NVML_P2P_STATUS_NOT_SUPPORTED;
            break;
        case NVML_P2P_CAPS_INDEX_PCI:
            *p2pStatus = pcie ? NVML_P2P_STATUS_OK : NVML_P2P_STATUS_CHIPSET_NOT_SUPPORTED;
            break;
        default: /* read, write, atomics: over NVLink, or PCIe within a NUMA node */
            *p2pStatus = (nvlink || pcie) ? NVML_P2P_STATUS_OK : NVML_P2P_STATUS_CHIPSET_NOT_SUPPORTED;
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

EXPORT nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t device1, nvmlDevice_t device2,
                                                        nvmlGpuTopologyLevel_t *pathInfo)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_device(device1);
    if (r == NVML_SUCCESS) {
        r = check_device(device2);
    }
    if (r == NVML_SUCCESS && pathInfo == NULL) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    if (r == NVML_SUCCESS) {
        *pathInfo = level_between(device1, device2);
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

/* Fills one field value; the lock must be held and the device checked. */
static void read_field(struct nvmlDevice_st *g, nvmlFieldValue_t *v)
{
    v->timestamp = g_clock_us++;
    v->latencyUsec = 0;
    v->nvmlReturn = NVML_SUCCESS;
    memset(&v->value, 0, sizeof v->value);
    switch (v->fieldId) {
    case NVML_FI_DEV_NVLINK_LINK_COUNT:
        v->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
        v->value.uiVal = g->links;
        return;
    case NVML_FI_DEV_NVSWITCH_CONNECTED_LINK_COUNT:
        v->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
        v->value.uiVal = g->nvswitch;
        return;
    case NVML_FI_DEV_NVLINK_GET_SPEED:
        v->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
        if (g->links == 0) {
            v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
        } else if (v->scopeId >= g->links) {
            v->nvmlReturn = NVML_ERROR_INVALID_ARGUMENT;
        } else {
            v->value.uiVal = g->inactive[v->scopeId] ? 0 : LINK_SPEED_MBPS;
        }
        return;
    case NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX:
    case NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX: {
        int tx = v->fieldId == NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX;
        unsigned long long *counters = tx ? g->tx_kib : g->rx_kib;
        v->valueType = NVML_VALUE_TYPE_UNSIGNED_LONG_LONG;
        if (g->links == 0) {
            v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
            return;
        }
        if (v->scopeId != UINT_MAX && v->scopeId >= g->links) {
            v->nvmlReturn = NVML_ERROR_INVALID_ARGUMENT;
            return;
        }
        /* Traffic flows on active links between reads: each read of a link adds its step first. */
        unsigned long long sum = 0;
        for (unsigned int l = 0; l < g->links; l++) {
            if (v->scopeId != UINT_MAX && l != v->scopeId) {
                continue;
            }
            if (!g->inactive[l]) {
                counters[l] += tx ? TX_STEP_KIB(l) : RX_STEP_KIB(l);
            }
            sum += counters[l];
        }
        v->value.ullVal = sum;
        return;
    }
    default:
        v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
        return;
    }
}

EXPORT nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int valuesCount, nvmlFieldValue_t *values)
{
    pthread_mutex_lock(&g_lock);
    nvmlReturn_t r = check_device(device);
    if (r == NVML_SUCCESS && (valuesCount < 0 || (valuesCount > 0 && values == NULL))) {
        r = NVML_ERROR_INVALID_ARGUMENT;
    }
    for (int i = 0; r == NVML_SUCCESS && i < valuesCount; i++) {
        read_field(device, &values[i]);
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}
