/* Unit tests of waiting on fds: readiness, deadlines, two waiters on one
 * fd in both directions, close waking waiters; and the per-fd record:
 * where it stays, what a forget resets, the readiness hints. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt.h"

struct waitarg {
  int fd;
  unsigned events;
  int64_t deadline;
  int result;
};

static void *waiter(void *arg) {
  struct waitarg *w = arg;
  w->result = gp__fd_wait(gp__fd_get(w->fd), w->events, w->deadline);
  return NULL;
}

Test(fdwait, readable_pipe_wakes_waiter) {
  gp__rt_start(0);
  int p[2];
  cr_assert_eq(pipe(p), 0);
  struct waitarg w = {p[0], GP_IN, GP_NEVER, 99};
  gp_coro *c;
  gp__spawn(waiter, &w, 0, 0, &c);
  gp__yield();
  cr_assert_eq(w.result, 99, "the waiter must still be parked");
  cr_assert_eq(write(p[1], "x", 1), 1);
  gp__join(c, NULL, GP_NEVER);
  cr_assert_eq(w.result, 0);
  close(p[0]);
  close(p[1]);
}

Test(fdwait, deadline_passes_without_data) {
  gp__rt_start(0);
  int p[2];
  cr_assert_eq(pipe(p), 0);
  int64_t t0 = gp__now();
  struct waitarg w = {p[0], GP_IN, t0 + 30 * 1000000LL, 99};
  gp_coro *c;
  gp__spawn(waiter, &w, 0, 0, &c);
  gp__join(c, NULL, GP_NEVER);
  cr_assert_eq(w.result, -ETIMEDOUT);
  cr_assert_geq(gp__now() - t0, 30 * 1000000LL);
}

Test(fdwait, reader_and_writer_wait_on_one_fd) {
  gp__rt_start(0);
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  char buf[4096] = {0};
  while (write(sv[0], buf, sizeof buf) > 0) /* fill sv[0]'s send side */
    ;
  cr_assert_eq(errno, EAGAIN);
  struct waitarg r = {sv[0], GP_IN, GP_NEVER, 99};
  struct waitarg w = {sv[0], GP_OUT, GP_NEVER, 99};
  gp_coro *rc, *wc;
  gp__spawn(waiter, &r, 0, 0, &rc);
  gp__spawn(waiter, &w, 0, 0, &wc);
  gp__yield();
  cr_assert_eq(r.result, 99);
  cr_assert_eq(w.result, 99);
  cr_assert_eq(write(sv[1], "y", 1), 1); /* sv[0] becomes readable */
  gp__join(rc, NULL, GP_NEVER);
  cr_assert_eq(r.result, 0);
  gp__yield(); /* a writer woken by mistake would run now */
  gp__yield();
  cr_assert_eq(w.result, 99, "the writer must not wake for readability");
  while (read(sv[1], buf, sizeof buf) > 0) /* sv[0] becomes writable */
    ;
  gp__join(wc, NULL, GP_NEVER);
  cr_assert_eq(w.result, 0);
  close(sv[0]);
  close(sv[1]);
}

/* The set reports an edge once (EPOLLET): every coroutine waiting on the
 * fd in that direction must wake and try, not only the first one, or the
 * others sleep while data is there. */
Test(fdwait, every_waiter_in_one_direction_wakes) {
  gp__rt_start(0);
  int p[2];
  cr_assert_eq(pipe(p), 0);
  struct waitarg w[3] = {{p[0], GP_IN, GP_NEVER, 99},
                         {p[0], GP_IN, GP_NEVER, 99},
                         {p[0], GP_IN, GP_NEVER, 99}};
  gp_coro *c[3];
  for (int i = 0; i < 3; i++)
    gp__spawn(waiter, &w[i], 0, 0, &c[i]);
  gp__yield();
  for (int i = 0; i < 3; i++)
    cr_assert_eq(w[i].result, 99, "waiter %d must still be parked", i);
  cr_assert_eq(write(p[1], "x", 1), 1);
  int64_t bound = gp__now() + 2000 * 1000000LL; /* far beyond the wake */
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(gp__join(c[i], NULL, bound), 0, "waiter %d never woke", i);
    cr_assert_eq(w[i].result, 0);
  }
  close(p[0]);
  close(p[1]);
}

Test(fdwait, forget_wakes_waiters_with_ebadf) {
  gp__rt_start(0);
  int p[2];
  cr_assert_eq(pipe(p), 0);
  struct waitarg w = {p[0], GP_IN, GP_NEVER, 99};
  gp_coro *c;
  gp__spawn(waiter, &w, 0, 0, &c);
  gp__yield();
  gp__fd_forget(gp__fd_get(p[0]));
  close(p[0]);
  gp__join(c, NULL, GP_NEVER);
  cr_assert_eq(w.result, -EBADF);
  close(p[1]);
}

Test(fdwait, regular_file_cannot_wait) {
  gp__rt_start(0);
  int fd = open("/proc/self/exe", O_RDONLY);
  cr_assert_geq(fd, 0);
  cr_assert_eq(gp__fd_wait(gp__fd_get(fd), GP_IN, GP_NEVER), -EPERM);
  close(fd);
}

Test(fdwait, fds_above_the_first_chunk_work) {
  gp__rt_start(0);
  int p[2];
  cr_assert_eq(pipe(p), 0);
  int hi = fcntl(p[0], F_DUPFD, 5000);
  cr_assert_geq(hi, 5000);
  cr_assert_eq(write(p[1], "z", 1), 1);
  cr_assert_eq(gp__fd_wait(gp__fd_get(hi), GP_IN, gp__now() + 1000000000LL), 0);
  gp__fd_forget(gp__fd_get(hi));
  close(hi);
  close(p[0]);
  close(p[1]);
}

Test(fdwait, record_stays_and_forget_zeroes_the_slot) {
  gp__rt_start(0);
  cr_assert_null(gp__fd_get(-1));
  cr_assert_null(gp__fd_find(70000), "a lookup alone must not make one");
  gp_fd *f = gp__fd_get(70000);
  cr_assert_not_null(f);
  cr_assert_eq(gp__fd_num(f), 70000);
  cr_assert_eq(gp__fd_find(70000), f);
  unsigned char *slot = gp__fd_slot(f);
  memset(slot, 0xab, GP_FD_SLOT);
  gp__fd_get(3 * 70000); /* the table grows: records must not move */
  gp__fd_forget(f);
  cr_assert_eq(gp__fd_get(70000), f);
  for (int i = 0; i < GP_FD_SLOT; i++)
    cr_assert_eq(slot[i], 0, "byte %d of the shim's slot", i);
}

Test(fdwait, seen_empty_holds_until_an_edge) {
  gp__rt_start(0);
  int p[2];
  cr_assert_eq(pipe(p), 0);
  gp_fd *f = gp__fd_get(p[0]);
  cr_assert(gp__fd_maybe_ready(f, GP_IN));
  /* Not in the epoll set yet: no edge would clear a hint, so none holds. */
  gp__fd_seen_empty(f, GP_IN);
  cr_assert(gp__fd_maybe_ready(f, GP_IN));
  /* A wait (here one that times out) adds it; from then on hints hold. */
  struct waitarg w = {p[0], GP_IN, gp__now() + 1000000LL, 99};
  gp_coro *c;
  gp__spawn(waiter, &w, 0, 0, &c);
  gp__join(c, NULL, GP_NEVER);
  cr_assert_eq(w.result, -ETIMEDOUT);
  gp__fd_seen_empty(f, GP_IN);
  cr_assert_not(gp__fd_maybe_ready(f, GP_IN));
  cr_assert(gp__fd_maybe_ready(f, GP_OUT));
  gp__fd_wake(f, GP_IN | GP_OUT | GP_PRI);
  cr_assert(gp__fd_maybe_ready(f, GP_IN));
}
