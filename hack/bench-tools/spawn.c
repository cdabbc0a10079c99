/* Run a command from a tiny process and report its peak RSS and CPU time.
 * Python's own memory would otherwise count as the child's peak RSS (the
 * forked interpreter is the child until execve). Usage: spawn RESULT CMD...
 * writes "HUSK-BENCH <exit status> <maxrss KiB> <user+sys microseconds>" to
 * the file RESULT (the command's own stdio may stay open in a container
 * long after it exits, so it cannot carry the result). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    pid_t p = fork();
    if (p < 0) return 2;
    if (p == 0) {
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(p, &st, 0, &ru) < 0) return 2;
    long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    FILE *f = fopen(argv[1], "w");
    if (!f) return 2;
    fprintf(f, "HUSK-BENCH %d %ld %ld\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), ru.ru_maxrss, cpu);
    fclose(f);
    return 0;
}
