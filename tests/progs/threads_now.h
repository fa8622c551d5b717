/* threads_now.h: the test programs' one helper. They print threads=N, the
 * "Threads:" line of /proc/self/status, taken while all their threads are
 * alive: natively N counts OS threads, under gpatch it must be 1. Plain
 * open and read, so it works at any point of a program. */
#ifndef THREADS_NOW_H
#define THREADS_NOW_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The number on the line of /proc/self/status that starts with key
 * ("Threads:", "VmHWM:"), or -1. */
static inline long status_value(const char *key) {
  char buf[4096], *p;
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  size_t len = strlen(key);
  if (fd >= 0)
    close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  for (p = buf; p != NULL; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp(p, key, len) == 0)
      return atol(p + len);
  return -1;
}

/* How many tasks in taskdir ("/proc/self/task", "/proc/PID/task") are
 * gpatch's hand-off monitor ("gpatch-handoff", GPATCH_TLS=private),
 * which runs no program code and sleeps while nothing is stuck. Read
 * with getdents64 (no libc DIR, no allocation). */
static inline int handoff_monitors(const char *taskdir) {
  int fd = open(taskdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
  char buf[8192], path[96], comm[32];
  long got;
  while (fd >= 0 && (got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
    for (long off = 0; off < got;) {
      struct dent {
        unsigned long long ino, next;
        unsigned short len;
        unsigned char type;
        char name[1];
      } *d = (struct dent *)(buf + off);
      off += d->len;
      if (d->name[0] == '.')
        continue;
      snprintf(path, sizeof path, "%s/%s/comm", taskdir, d->name);
      int cf = open(path, O_RDONLY | O_CLOEXEC);
      ssize_t k = cf < 0 ? -1 : read(cf, comm, sizeof comm - 1);
      if (cf >= 0)
        close(cf);
      if (k > 0 && strncmp(comm, "gpatch-handoff", 14) == 0)
        n++;
    }
  if (fd >= 0)
    close(fd);
  return n;
}

/* The process's OS thread count now, or -1, less the hand-off monitor:
 * the threads that may run the program's code. */
static inline int threads_now(void) {
  long n = status_value("Threads:");
  return n < 0 ? -1 : (int)n - handoff_monitors("/proc/self/task");
}

#endif
