/* config.h: what the GPATCH_* environment selects. */
#ifndef GP_CONFIG_H
#define GP_CONFIG_H

#include <stddef.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* Call families, as GPATCH_PATCH names them. */
enum {
  GP_FAM_THREAD = 1 << 0, /* pthread_create, join, exit, self, ... */
  GP_FAM_SYNC = 1 << 1,   /* mutexes and condition variables */
  GP_FAM_SLEEP = 1 << 2,  /* sleep, usleep, nanosleep, sched_yield */
  GP_FAM_SOCKET = 1 << 3, /* sockets, pipes: accept, connect, read, ... */
  GP_FAM_POLL = 1 << 4,   /* poll, ppoll, select, pselect */
  GP_FAM_DNS = 1 << 5,    /* getaddrinfo, gethostbyname, ... on a pool */
  GP_FAM_ALL = (1 << 6) - 1,
  /* Off unless named: not part of "all" (a page-cache read is faster than
   * a thread hop). */
  GP_FAM_FILE = 1 << 6,   /* regular files: open, read, pread, fsync, ... */
};

struct gp_config {
  unsigned families;  /* GP_FAM_* patched */
  size_t stack_size;  /* default coroutine stack, bytes */
  int stats;          /* GPATCH_STATS: report counters at exit */
  long max_blocking;  /* GPATCH_MAX_BLOCKING, ms (0: no monitor) */
  long slice_ms;      /* GPATCH_SLICE, ms (0: off) */
};

/* The default hand-off threshold, ms (GPATCH_HANDOFF; private TLS only):
 * four time slices, so a coroutine that makes calls gives way at its
 * slice long before, and one that makes none waits at most this long
 * plus the monitor's period (a quarter of it). */
#define GP_HANDOFF_DEFAULT_MS 20
/* The default time slice, ms: long enough that a busy loop pays for the
 * hub's round trip (about a microsecond) a few hundred times a second at
 * most, short enough that the fds, timers and pool threads it would
 * starve are seen within a few ms (Go preempts after 10 ms, but other
 * threads poll its network meanwhile; here nothing else does). */
#define GP_SLICE_DEFAULT_MS 5
#define GP_SLICE_MAX_MS 10000

extern struct gp_config gp_conf;

/* Parses a GPATCH_PATCH value into *families. Returns 0, or -1 with a
 * message (without the "gpatch: " prefix) in err. */
int gp_parse_patch(const char *s, unsigned *families, char *err,
                    size_t errlen);
/* Parses a size with an optional K, M or G suffix (powers of 1024). */
int gp_parse_size(const char *s, size_t *out);
/* Parses a decimal count from min to max, digits only. */
int gp_parse_count(const char *s, long min, long max, long *out);
/* Parses a GPATCH_SLICE value: milliseconds up to GP_SLICE_MAX_MS, or
 * "off" (the same as 0). Returns 0 or -1. */
int gp_parse_slice(const char *s, long *ms);
/* Parses a GPATCH_LOG level name (error, warn, info, debug, in any case)
 * into a GP_LOG_* value. */
int gp_parse_level(const char *s, int *out);
/* Reads the environment once (constructor, or the first hook that needs
 * it), and hands the runtime its hooks table before it can start (init.c);
 * exits with status 2 on a bad value. */
void gp_init(void);
/* The family names, in order, for messages and --list. */
const char *gp_family_name(unsigned bit);

#pragma GCC visibility pop

#endif
