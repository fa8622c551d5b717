/* api_tutorial: the gevent tutorial's first examples, with gpatch.h.
 *
 *   api_tutorial
 *
 * 1. Three tasks sleep for different times and print; joinall waits for
 *    them (gevent: spawn three greenlets, gevent.joinall).
 * 2. A "Greenlet subclass": a struct whose first member is the task and
 *    whose run function gets the struct (gevent: MyGreenlet._run).
 * 3. A Timeout around a slow call: a read from a pipe nobody writes to,
 *    and a join of a task that takes too long (gevent: with Timeout(...)).
 *
 * Linked with -lgpatch, so it runs the same with or without LD_PRELOAD.
 * Prints what the tutorial prints, then key=value lines for the tests:
 * order (the tasks in the order they finished), greeted, read_errno,
 * join_rc.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gpatch.h>

/* 1. Three tasks. */

static const long delays_ms[] = { 30, 10, 20 };
static char order[16];

static void *task(void *arg) {
  long pid = (long)arg;

  gpatch_sleep(delays_ms[pid]);
  printf("Task %ld done\n", pid);
  snprintf(order + strlen(order), sizeof order - strlen(order), "%s%ld",
           order[0] ? "," : "", pid);
  return arg;
}

static void three_tasks(void) {
  gpatch_task *tasks[3];

  for (long i = 0; i < 3; i++)
    gpatch_spawn(&tasks[i], NULL, task, (void *)i);
  gpatch_joinall(tasks, 3, -1);
  for (int i = 0; i < 3; i++)
    gpatch_release(tasks[i]);
  printf("order=%s\n", order);
}

/* 2. A task "subclass". */

struct greeter {
  gpatch_task *task;   /* the Greenlet part */
  const char *message; /* the subclass's own fields */
  long ms;
};

static void *greeter_run(void *self) {
  struct greeter *g = self;

  printf("%s\n", g->message);
  gpatch_sleep(g->ms);
  return g;
}

static int greeter_start(struct greeter *g) {
  gpatch_opts opts = { .name = "greeter" };

  return gpatch_spawn(&g->task, &opts, greeter_run, g);
}

static void subclass(void) {
  struct greeter g = { NULL, "Hi there!", 30 };

  greeter_start(&g);
  gpatch_join(g.task, -1);
  printf("greeted=%d\n", gpatch_value(g.task) == &g);
  gpatch_release(g.task);
}

/* 3. Timeouts. */

static void *wait_long(void *arg) {
  (void)arg;
  gpatch_sleep(10000);
  return NULL;
}

static void timeouts(void) {
  int fds[2];
  char c;
  gpatch_task *slow;

  if (pipe(fds) != 0)
    return;
  GPATCH_WITH_TIMEOUT(t, 50) {
    if (read(fds[0], &c, 1) < 0 && errno == ETIMEDOUT)
      printf("Could not complete\n");
    printf("read_errno=%s\n", strerror(errno));
  }
  gpatch_spawn(&slow, NULL, wait_long, NULL);
  GPATCH_WITH_TIMEOUT(t, 50) {
    int rc = gpatch_join(slow, -1);

    if (rc == ETIMEDOUT)
      printf("Could not complete\n");
    printf("join_rc=%s\n", strerror(rc));
  }
  gpatch_kill(slow);
  gpatch_join(slow, -1);
  gpatch_release(slow);
  close(fds[0]);
  close(fds[1]);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  three_tasks();
  subclass();
  timeouts();
  return 0;
}
