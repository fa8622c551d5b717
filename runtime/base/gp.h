/* gp.h: types, lists, assertions and clocks shared by the whole runtime.
 *
 * The runtime knows nothing about which libc call was made: it offers
 * coroutines, a scheduler, waits on fds, timers and wait queues. Functions
 * return 0 or a negative errno and never write errno.
 */
#ifndef GP_H
#define GP_H

#include <stddef.h>
#include <stdint.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

#define GP_EXPORT __attribute__((visibility("default")))
#define GP_LIKELY(x) __builtin_expect(!!(x), 1)
#define GP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GP_CONTAINER(ptr, type, member) \
  ((type *)((char *)(ptr) - offsetof(type, member)))

/* An always-on assertion: prints the expression, file and line through the
 * real write, then aborts. */
#define GP_ASSERT(expr)                                                  \
  do {                                                                   \
    if (GP_UNLIKELY(!(expr)))                                            \
      gp__assert_fail(#expr, __FILE__, __LINE__);                        \
  } while (0)

__attribute__((noreturn)) void gp__assert_fail(const char *expr,
                                               const char *file, int line);
/* Message levels (GPATCH_LOG): a message is written when its level is at
 * or below the threshold; error messages always are. */
enum gp_log_level {
  GP_LOG_ERROR, /* the process is about to die, or a setting is wrong */
  GP_LOG_WARN,  /* something the operator should know (the default) */
  GP_LOG_INFO,  /* start-up and configuration */
  GP_LOG_DEBUG, /* coroutine life: spawn, end, kill, Timeout */
};
extern unsigned char gp__log_level; /* the threshold */

/* Prints "gpatch: " followed by the formatted message and a newline to
 * the log (stderr, or GPATCH_LOG_FILE with a time, pid and level),
 * through the real write. Safe from any context but signal handlers;
 * never allocates. gp__log is a warning; gp__logl takes the level and
 * writes whatever the threshold (callers check it: GP_LOGL). */
void gp__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gp__logl(int level, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
__attribute__((noreturn)) void gp__die(const char *fmt, ...)
  __attribute__((format(printf, 1, 2)));
/* A message at level, when the threshold lets it through: one predictable
 * branch on a global when it does not. */
#define GP_LOGL(level, ...)                                              \
  do {                                                                   \
    if (GP_UNLIKELY(gp__log_level >= (level)))                           \
      gp__logl((level), __VA_ARGS__);                                    \
  } while (0)

/* Sends the log to the file at path (opened O_APPEND, never through a
 * symbolic link, close-on-exec) instead of stderr. Returns 0 or -errno. */
int gp__log_open(const char *path);
/* The fd the log goes to now (for backtrace_symbols_fd). Signal-safe. */
int gp__log_fd(void);

/* One message built piece by piece without printf or allocation, so that
 * a signal handler can write it: gp__msg_begin, any number of pieces,
 * gp__msg_send. Longer messages are cut. */
typedef struct gp_msg {
  char buf[512];
  size_t len;
} gp_msg;
void gp__msg_begin(gp_msg *m, int level);
void gp__msg_str(gp_msg *m, const char *s);
void gp__msg_uint(gp_msg *m, uint64_t v);
void gp__msg_hex(gp_msg *m, uintptr_t v);
/* Ends the line and writes it to the log in one write. */
void gp__msg_send(gp_msg *m);

/* An intrusive doubly linked list; the head is a sentinel node. */
typedef struct gp_list {
  struct gp_list *next;
  struct gp_list *prev;
} gp_list;

static inline void gp__list_init(gp_list *l) { l->next = l->prev = l; }
static inline int gp__list_empty(const gp_list *l) { return l->next == l; }
static inline int gp__list_linked(const gp_list *n) { return n->next != NULL; }

static inline void gp__list_push(gp_list *l, gp_list *n) {
  n->prev = l->prev;
  n->next = l;
  l->prev->next = n;
  l->prev = n;
}

/* Unlinks n and marks it unlinked (next == NULL). */
static inline void gp__list_del(gp_list *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = NULL;
}

static inline gp_list *gp__list_pop(gp_list *l) {
  gp_list *n = l->next;
  if (n == l)
    return NULL;
  gp__list_del(n);
  return n;
}

/* Time in nanoseconds on CLOCK_MONOTONIC. Deadlines are absolute values of
 * this clock, and three values have a meaning of their own:
 *   GP_NEVER     no deadline.
 *   GP_TRY_ONLY  take what is free now and never wait (gp__join and the
 *                shim's trylock paths answer EBUSY).
 *   GP_PASSED    a deadline already past, for a call that must not be
 *                read as a try: it times out at once, or only leaves the
 *                queue it was added to. */
#define GP_NEVER INT64_MAX
#define GP_TRY_ONLY 0
#define GP_PASSED 1

/* A deadline computed from the program's time, which must mean a wait:
 * never GP_TRY_ONLY (that, or less, becomes GP_PASSED). */
static inline int64_t gp__deadline_nonzero(int64_t deadline) {
  return deadline <= GP_TRY_ONLY ? GP_PASSED : deadline;
}
int64_t gp__now(void);
/* The same clock as gp__now, read at the last timer tick (1 to 4 ms
 * old): a vDSO read of a few ns, for checks that run on every call. */
int64_t gp__now_coarse(void);

#pragma GCC visibility pop

#endif
