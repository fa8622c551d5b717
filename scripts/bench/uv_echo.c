/* uv_echo: the baseline for the echo benchmark, a TCP echo server written
 * for libuv directly (one thread, one loop). Usage: uv_echo PORT. Exits on
 * SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct conn {
  uv_tcp_t tcp;
  char buf[65536];
};

struct wreq {
  uv_write_t req;
  char data[];
};

static uv_loop_t *loop;

static void on_close(uv_handle_t *h) { free(h->data); }

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b) {
  (void)want;
  struct conn *c = h->data;
  *b = uv_buf_init(c->buf, sizeof c->buf);
}

static void on_written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    uv_close((uv_handle_t *)s, on_close);
    return;
  }
  if (n == 0)
    return;
  /* Try the write at once, as a blocking server would; queue the rest. */
  uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
  int done = uv_try_write(s, &out, 1);
  if (done == n)
    return;
  if (done < 0)
    done = 0;
  struct wreq *w = malloc(sizeof *w + (size_t)(n - done));
  memcpy(w->data, b->base + done, (size_t)(n - done));
  out = uv_buf_init(w->data, (unsigned)(n - done));
  uv_write(&w->req, s, &out, 1, on_written);
}

static void on_conn(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  struct conn *c = malloc(sizeof *c);
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0)
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  else
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_signal(uv_signal_t *s, int sig) {
  (void)sig;
  uv_stop(s->loop);
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
  uv_tcp_init(loop, &server);
  server.data = NULL;
  if (uv_tcp_bind(&server, (struct sockaddr *)&addr, 0) ||
      uv_listen((uv_stream_t *)&server, 4096, on_conn)) {
    fprintf(stderr, "uv_echo: cannot listen on %s\n", argv[1]);
    return 1;
  }
  uv_signal_t term, intr;
  uv_signal_init(loop, &term);
  uv_signal_start(&term, on_signal, SIGTERM);
  uv_signal_init(loop, &intr);
  uv_signal_start(&intr, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
