/* Which code of husk a command runs, for the link order of hack/husk.order.
 * Single-steps the command and every husk process it starts (the init from
 * the sealed binary, the children before their exec) and prints, in the
 * order first executed, the offsets into husk's file of each new 64-byte
 * line of code. Processes that execute another program are let go, and so
 * is whatever is still running when the command itself exits.
 * Usage: textprof OUT HUSK ARGS...   (slow: a few seconds per command) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXP 64
#define SPAN (64u << 20)
static unsigned char seen[SPAN / 64 / 8];
static struct { pid_t pid; unsigned long base, end; } procs[MAXP];
static FILE *out;

/* The mapping of husk's file (its name ends in "husk") in pid; 0 if none. */
static int husk_range(pid_t pid, unsigned long *base, unsigned long *end) {
    char p[64], line[512];
    snprintf(p, sizeof p, "/proc/%d/maps", pid);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off;
        char perm[8], path[400] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %399s", &lo, &hi, perm, &off, path) < 4) continue;
        size_t n = strlen(path);
        if (n < 4 || strcmp(path + n - 4, "husk") != 0) continue;
        if (!found || lo - off < *base) *base = lo - off;
        if (!found || hi > *end) *end = hi;
        found = 1;
    }
    fclose(f);
    return found;
}

static int slot(pid_t pid) {
    for (int i = 0; i < MAXP; i++) if (procs[i].pid == pid) return i;
    return -1;
}

static void track(pid_t pid) {
    int i = slot(pid);
    if (i < 0) for (i = 0; i < MAXP && procs[i].pid; i++);
    if (i >= MAXP) return;
    procs[i].pid = pid;
    if (!husk_range(pid, &procs[i].base, &procs[i].end)) procs[i].base = procs[i].end = 0;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    out = fopen(argv[1], "w");
    if (!out) return 2;
    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int st, execd = 0;
    waitpid(child, &st, 0);
    ptrace(PTRACE_SETOPTIONS, child, 0,
           PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC);
    ptrace(PTRACE_SINGLESTEP, child, 0, 0);
    for (;;) {
        pid_t pid = waitpid(-1, &st, __WALL);
        if (pid < 0) break;
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            int i = slot(pid);
            if (i >= 0) procs[i].pid = 0;
            /* The command is done: what it left running (the waiting init
             * of a create) goes on untraced when this tracer exits. */
            if (pid == child) break;
            continue;
        }
        if (!WIFSTOPPED(st)) continue;
        int sig = WSTOPSIG(st), ev = st >> 16;
        int i = slot(pid);
        if (ev == PTRACE_EVENT_EXEC || i < 0) {
            track(pid);
            i = slot(pid);
        }
        if (ev) sig = 0;
        if (sig == SIGTRAP || (sig == SIGSTOP && ev == 0)) sig = 0;
        if (i >= 0 && !procs[i].end && pid == child && !execd) {
            /* The first child, before it executes husk. */
            ptrace(PTRACE_SINGLESTEP, pid, 0, sig);
            continue;
        }
        if (ev == PTRACE_EVENT_EXEC && pid == child) execd = 1;
        if (i < 0 || !procs[i].end) {
            /* Not husk (another program after exec): let it run untraced. */
            ptrace(PTRACE_DETACH, pid, 0, sig);
            if (i >= 0) procs[i].pid = 0;
            continue;
        }
        struct user_regs_struct r;
        if (ptrace(PTRACE_GETREGS, pid, 0, &r) == 0 && r.rip >= procs[i].base && r.rip < procs[i].end) {
            unsigned long off = r.rip - procs[i].base;
            unsigned long line = off / 64;
            if (off < SPAN && !(seen[line / 8] & (1 << (line % 8)))) {
                seen[line / 8] |= 1 << (line % 8);
                fprintf(out, "%lx\n", off);
            }
        }
        ptrace(PTRACE_SINGLESTEP, pid, 0, sig);
    }
    fclose(out);
    return 0;
}
