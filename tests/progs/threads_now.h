/* threads_now.h: the test programs' helpers. They print threads=N, the
 * "Threads:" line of /proc/self/status, taken while all their threads are
 * alive: natively N counts OS threads, under gpatch it must be 1. Plain
 * open and read, so it works at any point of a program. wait_in_call
 * waits, natively, for another thread to block in a call. */
#ifndef THREADS_NOW_H
#define THREADS_NOW_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
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
 * which runs no program code and sleeps while nothing is stuck: 0 or 1.
 * A process has one monitor; a second task of that name is a spare OS
 * thread the monitor has just made for a hand-off, which has its
 * maker's name until the monitor renames it "gpatch-spare" (seen under
 * valgrind, where hand-offs are frequent: "Threads:" read as 2 before
 * the spare existed, less two monitors, gave threads=0). Read with
 * getdents64 (no libc DIR, no allocation). */
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
  return n > 1 ? 1 : n;
}

/* The process's OS thread count now, or -1, less the hand-off monitor:
 * the threads that may run the program's code. */
static inline int threads_now(void) {
  long n = status_value("Threads:");
  return n < 0 ? -1 : (int)n - handoff_monitors("/proc/self/task");
}

/* Natively, waits until the OS thread tid sleeps in a system call other
 * than futex (/proc/self/task/TID/syscall names one, not "running"),
 * polling every millisecond for up to about 10 s; when that file cannot
 * be read, it only sleeps 50 ms. For a step (a signal) that needs another
 * thread already blocked in its call: a fixed sleep loses that race when
 * the thread is kept off the CPU under load. Preloaded every thread is a
 * coroutine of one OS thread: callers do not use it then (threads_now()
 * is 1). */
static inline void wait_in_call(pid_t tid) {
  char path[64], buf[64], *end;
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  for (int i = 0; i < 10000; i++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
      close(fd);
    if (n <= 0) {
      usleep(50 * 1000);
      return;
    }
    buf[n] = '\0';
    long nr = strtol(buf, &end, 10);
    if (end != buf && nr >= 0 && nr != SYS_futex)
      return;
    struct timespec ms = { 0, 1000 * 1000 };
    nanosleep(&ms, NULL);
  }
}

#endif
