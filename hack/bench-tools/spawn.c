/* Run a command from a tiny process and report its peak RSS and CPU time.
 * Python's own memory would otherwise count as the child's peak RSS (the
 * forked interpreter is the child until execve). Prints:
 *   "<exit status> <maxrss KiB> <user+sys microseconds>" on stderr's last line. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pid_t p = fork();
    if (p < 0) return 2;
    if (p == 0) {
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(p, &st, 0, &ru) < 0) return 2;
    long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    fprintf(stderr, "\nHUSK-BENCH %d %ld %ld\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), ru.ru_maxrss, cpu);
    return 0;
}
