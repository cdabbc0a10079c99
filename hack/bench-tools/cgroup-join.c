/* How long entering a fresh container's v1 cgroups takes, two ways: the
 * parent writes the child's pid into each cgroup.procs (what runc and crun
 * do, and husk did), or the child writes "0" into each tasks file itself
 * (what husk does now, before it executes the init). Rounds are spaced
 * apart, as containers started by kubelet or podman are.
 * Usage: cgroup-join [ROUNDS]   (root, cgroup v1 or hybrid host) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *ctl[] = {"cpu", "cpuacct", "memory", "pids", "blkio", "devices",
                            "freezer", "net_cls", "net_prio", "perf_event", "cpuset", "hugetlb",
                            "rdma", "misc", "systemd", 0};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void put(const char *dir, const char *file, const char *v) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    int f = open(p, O_WRONLY | O_CLOEXEC);
    if (f >= 0) {
        if (write(f, v, strlen(v)) < 0) perror(p);
        close(f);
    }
}

/* One round: returns the ms from fork until the child is in every cgroup. */
static double round_ms(int by_child) {
    char dirs[16][256];
    int fds[16], n = 0;
    for (int i = 0; ctl[i]; i++) {
        char base[128];
        snprintf(base, sizeof base, "/sys/fs/cgroup/%s", ctl[i]);
        if (access(base, F_OK) != 0) continue;
        snprintf(dirs[n], sizeof dirs[n], "%s/cgroup-join-%d", base, getpid());
        mkdir(dirs[n], 0755);
        if (!strcmp(ctl[i], "cpuset")) {
            put(dirs[n], "cpuset.cpus", "0");
            put(dirs[n], "cpuset.mems", "0");
        }
        char f[300];
        snprintf(f, sizeof f, "%s/%s", dirs[n], by_child ? "tasks" : "cgroup.procs");
        fds[n] = open(f, O_WRONLY | O_CLOEXEC);
        if (fds[n] < 0) {
            rmdir(dirs[n]);
            continue;
        }
        n++;
    }
    int pp[2];
    if (pipe(pp) < 0) exit(1);
    double t0 = now();
    pid_t c = fork();
    if (c == 0) {
        if (by_child)
            for (int i = 0; i < n; i++)
                if (write(fds[i], "0", 1) != 1) _exit(1);
        if (write(pp[1], "x", 1) < 0) _exit(1);
        _exit(0);
    }
    if (!by_child) {
        char s[32];
        int l = snprintf(s, sizeof s, "%d", c);
        for (int i = 0; i < n; i++)
            if (write(fds[i], s, l) != l) perror("cgroup.procs");
    }
    char b;
    if (read(pp[0], &b, 1) != 1) exit(1);
    double ms = now() - t0;
    waitpid(c, 0, 0);
    for (int i = 0; i < n; i++) {
        close(fds[i]);
        rmdir(dirs[i]);
    }
    close(pp[0]);
    close(pp[1]);
    return ms;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    for (int r = 0; r < rounds; r++) {
        double parent = round_ms(0);
        usleep(300000);
        double child = round_ms(1);
        usleep(300000);
        printf("parent writes cgroup.procs: %6.2f ms   child writes tasks: %6.2f ms\n", parent, child);
    }
    return 0;
}
