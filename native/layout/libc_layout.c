/*
 * Prints the sizes and field offsets of the libc structures that DataPlane.Interop declares,
 * as "name value" lines. The interop tests compile and run this program and compare every line
 * with the managed declarations, so a layout mistake fails CI on each architecture we build for.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#define SIZE(t) printf("sizeof(" #t ") %zu\n", sizeof(t))
#define OFFSET(t, f) printf("offsetof(" #t "," #f ") %zu\n", offsetof(t, f))
#define CONST(c) printf(#c " %ld\n", (long)(c))

int main(void)
{
    SIZE(struct timespec);
    OFFSET(struct timespec, tv_sec);
    OFFSET(struct timespec, tv_nsec);
    SIZE(struct pollfd);
    OFFSET(struct pollfd, fd);
    OFFSET(struct pollfd, events);
    OFFSET(struct pollfd, revents);
    CONST(POLLIN);
    CONST(EFD_NONBLOCK);
    CONST(EFD_CLOEXEC);
    CONST(CLOCK_MONOTONIC);
    CONST(TIMER_ABSTIME);
    SIZE(cpu_set_t);
    CONST(MCL_CURRENT);
    CONST(MCL_FUTURE);
    SIZE(struct rlimit);
    OFFSET(struct rlimit, rlim_cur);
    OFFSET(struct rlimit, rlim_max);
    CONST(RLIMIT_NOFILE);
    CONST(RLIM_INFINITY);
    return 0;
}
