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
/* Prints "gpatch: " followed by the formatted message and a newline on
 * stderr, through the real write. Safe from any context but signal
 * handlers; never allocates. */
void gp__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void gp__die(const char *fmt, ...)
  __attribute__((format(printf, 1, 2)));

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
 * this clock; GP_NEVER means no deadline. */
#define GP_NEVER INT64_MAX
int64_t gp__now(void);

#pragma GCC visibility pop

#endif
