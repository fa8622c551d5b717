/* threads_now.h: the test programs' one helper. They print threads=N, the
 * "Threads:" line of /proc/self/status, taken while all their threads are
 * alive: natively N counts OS threads, under gpatch it must be 1. Plain
 * open and read, so it works at any point of a program. */
#ifndef THREADS_NOW_H
#define THREADS_NOW_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

/* The process's OS thread count now, or -1. */
static inline int threads_now(void) { return (int)status_value("Threads:"); }

#endif
