/* fault.h: helpers of the fault programs (tests/progs/fault_*.c): a
 * loopback listener, a connect, whole writes and reads, and the pattern
 * every transfer is checked against.  Each program prints key=value
 * tokens that are the same natively and under gpatch (test_faults.c
 * compares them) and bounds itself with alarm(). */
#ifndef FAULT_H
#define FAULT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Exits with a message when cond is false. */
#define FAULT_CHECK(cond)                                                   \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: %s failed (errno %d %s)\n", __FILE__,         \
              __LINE__, #cond, errno, strerror(errno));                     \
      exit(3);                                                              \
    }                                                                       \
  } while (0)

/* A listening TCP socket on 127.0.0.1 with a kernel-chosen port, written
 * to *port. */
static inline int fault_listen(int *port) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  FAULT_CHECK(fd >= 0);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FAULT_CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  FAULT_CHECK(listen(fd, 1024) == 0);
  FAULT_CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* A blocking socket connected to 127.0.0.1:port, or -1 with errno. */
static inline int fault_connect(int port) {
  struct sockaddr_in a = { .sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  while (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (errno == EINTR)
      continue; /* (The connection goes on; a retry reports EISCONN.) */
    if (errno == EISCONN)
      break;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Writes all n bytes.  EINTR is retried and counted in *eintr (may be
 * NULL).  Returns 0, or -1 with errno. */
static inline int fault_write_all(int fd, const void *p, size_t n,
                                  long *eintr) {
  const char *b = p;
  while (n > 0) {
    ssize_t k = write(fd, b, n);
    if (k < 0 && errno == EINTR) {
      if (eintr)
        ++*eintr;
      continue;
    }
    if (k <= 0)
      return -1;
    b += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Reads exactly n bytes.  EINTR is retried and counted in *eintr.
 * Returns n, the bytes read before end of file, or -1 with errno. */
static inline ssize_t fault_read_all(int fd, void *p, size_t n, long *eintr) {
  char *b = p;
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, b + got, n - got);
    if (k < 0 && errno == EINTR) {
      if (eintr)
        ++*eintr;
      continue;
    }
    if (k < 0)
      return -1;
    if (k == 0)
      break;
    got += (size_t)k;
  }
  return (ssize_t)got;
}

/* The byte at offset off of stream id's pattern. */
static inline unsigned char fault_byte(unsigned id, uint64_t off) {
  uint32_t x = (uint32_t)off * 0x9E3779B1u ^ id * 0x85EBCA77u;
  x ^= x >> 15;
  x *= 0x2C1B3C6Du;
  x ^= x >> 12;
  return (unsigned char)(x >> 3);
}

/* The symbolic name of an errno value the faults expect, or its number. */
static inline const char *fault_errname(int e) {
  static char num[16];
  switch (e) {
  case 0: return "0";
  case EAGAIN: return "EAGAIN";
  case EINTR: return "EINTR";
  case EPIPE: return "EPIPE";
  case ECONNRESET: return "ECONNRESET";
  case EMFILE: return "EMFILE";
  case ENFILE: return "ENFILE";
  case ENOMEM: return "ENOMEM";
  case ETIMEDOUT: return "ETIMEDOUT";
  case EBADF: return "EBADF";
  case ENOTCONN: return "ENOTCONN";
  }
  snprintf(num, sizeof num, "%d", e);
  return num;
}

#endif
