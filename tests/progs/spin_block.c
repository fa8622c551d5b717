/* spin_block: one thread computes without yielding while another needs to
 * run, for the blocking monitor (GPATCH_MAX_BLOCKING).
 *
 *   spin_block [SPIN_MS [poll]]
 *
 * A thread named "ticker" sleeps 5 ms at a time and notes the longest gap
 * between two of its wake-ups. Once it has ticked a few times, a thread
 * named "spinner" runs spin_without_yielding(): SPIN_MS milliseconds
 * (default 300) of a busy loop that makes no call the shim could park in.
 * Natively the ticker goes on beside it; on one OS thread it waits for
 * the spinner. With "poll", the spinner instead waits SPIN_MS in
 * poll(NULL, 0, SPIN_MS), which blocks the OS thread when the poll family
 * is not patched. Prints key=value lines: spin_ms (how long the spinner
 * ran), ticks, max_gap_ms (the ticker's longest wait between wake-ups).
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static long ticks, max_gap_us, spin_ms = 300, spun_ms;
static int use_poll;

static long now_us(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static void *ticker(void *arg) {
  long last = now_us();

  (void)arg;
  pthread_setname_np(pthread_self(), "ticker");
  while (!stop) {
    usleep(5000);
    long t = now_us();
    if (t - last > max_gap_us)
      max_gap_us = t - last;
    last = t;
    ticks++;
  }
  return NULL;
}

/* Exported (the program is linked with -rdynamic) and kept out of line, so
 * that the monitor's backtrace can name it. */
__attribute__((noinline)) long spin_without_yielding(long ms) {
  long start = now_us(), n = 0;

  while (now_us() - start < ms * 1000)
    n++;
  return n;
}

static void *spinner(void *arg) {
  long t0 = now_us();

  (void)arg;
  pthread_setname_np(pthread_self(), "spinner");
  if (use_poll)
    poll(NULL, 0, (int)spin_ms);
  else
    spin_without_yielding(spin_ms);
  spun_ms = (now_us() - t0) / 1000;
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t, s;

  if (argc > 1)
    spin_ms = atol(argv[1]);
  use_poll = argc > 2 && strcmp(argv[2], "poll") == 0;
  if (pthread_create(&t, NULL, ticker, NULL) != 0)
    return 1;
  while (ticks < 5)
    usleep(5000);
  max_gap_us = 0;
  if (pthread_create(&s, NULL, spinner, NULL) != 0)
    return 1;
  pthread_join(s, NULL);
  usleep(20000);
  stop = 1;
  pthread_join(t, NULL);
  printf("spin_ms=%ld\nticks=%ld\nmax_gap_ms=%ld\n", spun_ms, ticks,
         max_gap_us / 1000);
  return 0;
}
