/* stdio_sock: stdio streams made with fdopen over a socketpair and a pipe,
 * used by threads: a reader does fgets, getline and fread on lines a
 * writer sends with fprintf and fflush, some split across pauses; a
 * ticker thread counts while the reader waits. Prints key=value lines;
 * exits 0 when every line arrived whole. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

static int sv[2], pfd[2];
static volatile int ticks, stop;

static void *ticker(void *arg) {
  (void)arg;
  while (!stop) {
    ticks++;
    usleep(2000);
  }
  return NULL;
}

static void *writer(void *arg) {
  (void)arg;
  FILE *w = fdopen(sv[1], "w");
  fprintf(w, "line one\n");
  fflush(w);
  usleep(50 * 1000);
  /* And one tick more, which falls into main's wait for line two
   * (natively under load the ticker thread could be kept off the CPU
   * throughout). */
  int k = ticks;
  while (ticks == k)
    usleep(1000);
  fprintf(w, "line t");
  fflush(w);
  usleep(30 * 1000);
  fprintf(w, "wo\n%s", "0123456789");
  fclose(w); /* closes sv[1]: the reader then sees EOF */
  FILE *p = fdopen(pfd[1], "w");
  for (int i = 0; i < 1000; i++)
    fprintf(p, "%04d\n", i); /* 5000 bytes: more than one stdio buffer */
  fclose(p);
  return NULL;
}

int main(void) {
  char line[64];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || pipe(pfd) != 0)
    return 2;
  FILE *r = fdopen(sv[0], "r");
  printf("fileno_ok=%d\n", fileno(r) == sv[0]);
  pthread_t tk, wr;
  pthread_create(&tk, NULL, ticker, NULL);
  pthread_create(&wr, NULL, writer, NULL);
  int t0 = ticks;
  int ok1 = fgets(line, sizeof line, r) && strcmp(line, "line one\n") == 0;
  char *l2 = NULL;
  size_t cap = 0;
  int ok2 = getline(&l2, &cap, r) == 9 && strcmp(l2, "line two\n") == 0;
  /* It ran while the reader waited 80 ms (at all: under load the process
   * may wait on the run queue for most of that time). */
  int ticked = ticks - t0 > 0;
  char rest[16] = {0};
  size_t n = fread(rest, 1, sizeof rest, r);
  int ok3 = n == 10 && memcmp(rest, "0123456789", 10) == 0 && feof(r);
  fclose(r);
  FILE *p = fdopen(pfd[0], "r");
  int count = 0, in_order = 1;
  while (fgets(line, sizeof line, p))
    in_order &= atoi(line) == count++;
  fclose(p);
  stop = 1;
  pthread_join(wr, NULL);
  pthread_join(tk, NULL);
  free(l2);
  printf("fgets_ok=%d\ngetline_ok=%d\nfread_eof_ok=%d\nticked=%d\n"
         "pipe_lines=%d\nin_order=%d\nclosed=%d\n",
         ok1, ok2, ok3, ticked, count, in_order,
         fcntl(sv[0], F_GETFD) == -1);
  return ok1 && ok2 && ok3 && count == 1000 && in_order ? 0 : 1;
}
