/* fuzz_io.h: the multithreaded descriptor scenarios of fuzz_interp:
 * pipeline, pingpong and wake (see fuzz_interp.c).  Their transcripts hold
 * only what the script decides: per-producer frame counts and hashes (each
 * producer's frames reach the consumer in its own order, whatever the
 * interleaving), the final token of a ping-pong, what a woken waiter got.
 */
#ifndef FUZZ_IO_H
#define FUZZ_IO_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <semaphore.h>

#include "fuzz_solo.h"

/* The solo scenario: one role. */
static void fz_solo(struct fz_group *g) {
  g->nroles = 1;
  fz_solo_run(g, &g->log[0]);
}

enum { FZ_PRODUCERS = 4, FZ_FRAME_MAX = 4096, FZ_HDR = 12 };

/* A pipeline: producers write frames to one pipe or socketpair, the
 * leader reads until end of file. */
struct fz_pl {
  struct fz_group *g;
  int kind;               /* FK_PIPE, FK_STREAM or FK_SEQPKT. */
  int rfd;                /* The consumer's end. */
  int wfd[FZ_PRODUCERS];  /* Each producer's own dup of the write end. */
  int nprod, frames;      /* Producers, frames each. */
  int maxf;               /* Largest frame. */
};

/* The length of frame seq of producer p (header included). */
static int fz_frame_len(const struct fz_pl *pl, int p, int seq) {
  return FZ_HDR + (int)(fz_byte(pl->g->seed + p, seq) * 131u %
                        (unsigned)(pl->maxf - FZ_HDR + 1));
}

struct fz_prod {
  struct fz_pl *pl;
  int p;
};

static void *fz_producer(void *arg) {
  struct fz_prod *pr = arg;
  struct fz_pl *pl = pr->pl;
  struct fz_log *l = &pl->g->log[1 + pr->p];
  struct fz_rng r = { pl->g->seed ^ (0x1000u + pr->p) };
  char buf[FZ_FRAME_MAX];
  long sum = 0;
  int seq, errs = 0, rc;

  for (seq = 0; seq < pl->frames; seq++) {
    int n = fz_frame_len(pl, pr->p, seq), via = (int)fz_below(&r, 3);
    uint32_t h[3] = { (uint32_t)pr->p, (uint32_t)seq, (uint32_t)n };
    ssize_t w;

    memcpy(buf, h, sizeof h);
    fz_fill(buf + FZ_HDR, n - FZ_HDR, pl->g->seed + pr->p, seq * 4096u);
    if (via == 1 && pl->kind != FK_PIPE)
      w = send(pl->wfd[pr->p], buf, n, 0);
    else if (via == 2)
      w = writev(pl->wfd[pr->p], &(struct iovec){ buf, n }, 1);
    else
      w = write(pl->wfd[pr->p], buf, n);
    if (w != n && errs++ < 3)
      fz_say(l, "short write seq=%d n=%d rc=%zd %s", seq, n, w,
             w < 0 ? fz_errname(errno) : "-");
    sum += w > 0 ? w : 0;
    if (fz_chance(&r, 10))
      usleep(fz_range(&r, 0, 200));
  }
  rc = close(pl->wfd[pr->p]);
  fz_say(l, "producer frames=%d bytes=%ld close=%d", pl->frames, sum, rc);
  return NULL;
}

/* Waits until the consumer's end is readable, the way mode says (0: not
 * at all, a blocking read; 1: poll; 2: select; 3: epoll_wait; 4: ppoll).
 * Returns 0, or -1 when the wait failed (logged). */
static int fz_pl_wait(struct fz_pl *pl, int mode, int ep, struct fz_log *l) {
  struct pollfd p = { pl->rfd, POLLIN, 0 };
  struct epoll_event ev;
  struct timespec ts = { 10, 0 };
  struct timeval tv = { 10, 0 };
  fd_set rd;
  int rc;

  switch (mode) {
  case 1: rc = poll(&p, 1, 10000); break;
  case 2:
    FD_ZERO(&rd);
    FD_SET(pl->rfd, &rd);
    rc = select(pl->rfd + 1, &rd, NULL, NULL, &tv);
    break;
  case 3: rc = epoll_wait(ep, &ev, 1, 10000); break;
  case 4: rc = ppoll(&p, 1, &ts, NULL); break;
  default: return 0;
  }
  if (rc != 1) {
    fz_say(l, "wait mode=%d rc=%d %s", mode, rc, fz_errname(errno));
    return -1;
  }
  return 0;
}

/* Splits what the consumer read into frames and checks each. */
struct fz_pl_check {
  char buf[2 * FZ_FRAME_MAX + 70000];
  size_t have;
  int next[FZ_PRODUCERS];       /* Next expected seq per producer. */
  uint64_t hash[FZ_PRODUCERS];  /* Per-producer hash of its frames. */
  int bad;                      /* Frames out of order or corrupt. */
  long bytes;
};

static void fz_pl_parse(struct fz_pl *pl, struct fz_pl_check *c) {
  size_t at = 0;

  while (c->have - at >= FZ_HDR) {
    uint32_t h[3];

    memcpy(h, c->buf + at, sizeof h);
    if (h[0] >= (uint32_t)pl->nprod || h[2] < FZ_HDR || h[2] > FZ_FRAME_MAX) {
      c->bad++;
      at = c->have; /* Lost framing: drop everything. */
      break;
    }
    if (c->have - at < h[2])
      break;
    if ((int)h[1] != c->next[h[0]] ||
        (int)h[2] != fz_frame_len(pl, h[0], h[1]))
      c->bad++;
    c->next[h[0]] = h[1] + 1;
    c->hash[h[0]] = fz_hash(c->hash[h[0]], c->buf + at, h[2]);
    at += h[2];
  }
  memmove(c->buf, c->buf + at, c->have - at);
  c->have -= at;
}

/* The consumer: reads until end of file with random chunk sizes. */
static void fz_pl_consume(struct fz_pl *pl, struct fz_rng *r,
                          struct fz_log *l) {
  struct fz_pl_check *c = calloc(1, sizeof *c);
  int mode = (int)fz_below(r, 5), ep = -1, k, reads = 0;
  struct epoll_event ev = { .events = EPOLLIN };
  ssize_t n = -1;

  if (c == NULL)
    abort();
  for (k = 0; k < FZ_PRODUCERS; k++)
    c->hash[k] = FZ_HASH0;
  if (mode == 3) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, pl->rfd, &ev) != 0)
      fz_say(l, "epoll_ctl %s", fz_errname(errno));
  }
  for (;;) {
    size_t want = pl->kind == FK_SEQPKT ? FZ_FRAME_MAX :
                  (size_t)fz_range(r, 1, 70000);

    if (fz_pl_wait(pl, mode, ep, l) != 0)
      break;
    n = pl->kind != FK_PIPE && fz_chance(r, 50) ?
        recv(pl->rfd, c->buf + c->have, want, 0) :
        read(pl->rfd, c->buf + c->have, want);
    if (n <= 0)
      break;
    reads++;
    c->have += n;
    c->bytes += n;
    fz_pl_parse(pl, c);
  }
  fz_rc(l, "consumer last read", n, errno);
  fz_say(l, "consumer mode=%d bytes=%ld leftover=%zu bad=%d", mode, c->bytes,
         c->have, c->bad);
  for (k = 0; k < pl->nprod; k++)
    fz_say(l, "from p%d frames=%d hash=%016llx", k, c->next[k],
           (unsigned long long)c->hash[k]);
  if (ep >= 0)
    close(ep);
  free(c);
}

static void fz_pipeline(struct fz_group *g) {
  struct fz_pl pl = { .g = g };
  struct fz_rng r = { g->seed };
  struct fz_prod pr[FZ_PRODUCERS];
  pthread_t t[FZ_PRODUCERS];
  struct fz_log *l = &g->log[0];
  int fds[2], rc, k;

  pl.kind = (int)fz_below(&r, 3);
  pl.nprod = (int)fz_range(&r, 1, FZ_PRODUCERS);
  pl.frames = (int)fz_range(&r, 1, 200);
  pl.maxf = fz_chance(&r, 50) ? 64 : FZ_FRAME_MAX;
  g->nroles = 1 + pl.nprod;
  rc = pl.kind == FK_PIPE ? pipe(fds) :
       socketpair(AF_UNIX, pl.kind == FK_STREAM ? SOCK_STREAM :
                  SOCK_SEQPACKET, 0, fds);
  fz_say(l, "pipeline %s producers=%d frames=%d max=%d rc=%d",
         fz_kind_name[pl.kind], pl.nprod, pl.frames, pl.maxf, rc);
  if (rc != 0)
    return;
  pl.rfd = fds[0];
  for (k = 0; k < pl.nprod; k++)
    pl.wfd[k] = dup(fds[1]);
  close(fds[1]);
  for (k = 0; k < pl.nprod; k++) {
    pr[k].pl = &pl;
    pr[k].p = k;
    t[k] = fz_start(fz_producer, &pr[k]);
  }
  if (fz_chance(&r, 30))
    fz_sleep_ms(fz_range(&r, 1, 3)); /* Let the producers fill it first. */
  fz_pl_consume(&pl, &r, l);
  for (k = 0; k < pl.nprod; k++)
    fz_join(t[k]);
  close(pl.rfd);
}

/* Ping-pong: a token goes back and forth n times. */
struct fz_pp {
  struct fz_group *g;
  int medium;          /* 0 pipes, 1 stream, 2 eventfds, 3 condvar,
                          4 semaphores, 5 seqpacket. */
  int n;               /* Round trips. */
  int fd[2][2];        /* [direction][read, write] (sockets: both ends). */
  pthread_mutex_t mu;  /* Condvar medium: guards turn and token. */
  pthread_cond_t cv;
  int turn;            /* Condvar medium: 0 the leader's, 1 the other's. */
  uint32_t token;
  sem_t sem[2];        /* Semaphore medium: one per side. */
  int efsem;           /* Eventfd medium made with EFD_SEMAPHORE. */
};

/* Sends the token from side me; returns 0 or -1. */
static int fz_pp_send(struct fz_pp *pp, int me, uint32_t tok) {
  uint64_t v = pp->efsem ? 1 : tok % 1000 + 1; /* One unit at a time. */

  switch (pp->medium) {
  case 2:
    return write(pp->fd[me][1], &v, 8) == 8 ? 0 : -1;
  case 3:
    pthread_mutex_lock(&pp->mu);
    pp->token = tok;
    pp->turn = 1 - me;
    pthread_cond_signal(&pp->cv);
    pthread_mutex_unlock(&pp->mu);
    return 0;
  case 4:
    pp->token = tok;
    return sem_post(&pp->sem[1 - me]);
  default:
    return write(pp->fd[me][1], &tok, 4) == 4 ? 0 : -1;
  }
}

/* Receives the token at side me into *tok; returns 0 or -1. */
static int fz_pp_recv(struct fz_pp *pp, int me, uint32_t *tok) {
  uint64_t v;
  int rc;

  switch (pp->medium) {
  case 2:
    if (read(pp->fd[1 - me][0], &v, 8) != 8)
      return -1;
    *tok = (uint32_t)v;
    return 0;
  case 3:
    pthread_mutex_lock(&pp->mu);
    while (pp->turn != me)
      pthread_cond_wait(&pp->cv, &pp->mu);
    *tok = pp->token;
    pthread_mutex_unlock(&pp->mu);
    return 0;
  case 4:
    while ((rc = sem_wait(&pp->sem[me])) != 0 && errno == EINTR)
      ;
    *tok = pp->token;
    return rc;
  default:
    return read(pp->fd[1 - me][0], tok, 4) == 4 ? 0 : -1;
  }
}

/* One side's loop: the leader (me 0) starts; each side answers t with
 * t * 3 + 1 (the eventfd medium carries t % 1000 + 1). */
static void fz_pp_side(struct fz_pp *pp, int me) {
  struct fz_log *l = &pp->g->log[me];
  uint32_t tok = (uint32_t)pp->g->seed, got = 0;
  int k, fails = 0;

  for (k = 0; k < pp->n; k++) {
    if (me == 0 && fz_pp_send(pp, 0, tok) != 0)
      fails++;
    if (fz_pp_recv(pp, me, &got) != 0) {
      fails++;
      break;
    }
    tok = got * 3 + 1;
    if (me == 1 && fz_pp_send(pp, 1, tok) != 0)
      fails++;
  }
  fz_say(l, "side=%d rounds=%d last=%u fails=%d", me, k, got, fails);
}

static void *fz_pp_other(void *arg) {
  fz_pp_side(arg, 1);
  return NULL;
}

static void fz_pingpong(struct fz_group *g) {
  struct fz_pp pp = { .g = g, .mu = PTHREAD_MUTEX_INITIALIZER,
                      .cv = PTHREAD_COND_INITIALIZER };
  struct fz_rng r = { g->seed };
  int d, sv[2], rc = 0;
  pthread_t t;

  pp.medium = (int)fz_below(&r, 6);
  pp.n = (int)fz_range(&r, 1, 300);
  g->nroles = 2;
  for (d = 0; d < 2; d++) {
    if (pp.medium == 0) {
      rc |= pipe(pp.fd[d]);
    } else if (pp.medium == 2) {
      pp.efsem = d == 0 ? fz_chance(&r, 50) : pp.efsem;
      pp.fd[d][0] = pp.fd[d][1] = eventfd(0, pp.efsem ? EFD_SEMAPHORE : 0);
      rc |= pp.fd[d][0] < 0;
    } else if (pp.medium == 4) {
      rc |= sem_init(&pp.sem[d], 0, 0);
    }
  }
  if (pp.medium == 1 || pp.medium == 5) {
    rc |= socketpair(AF_UNIX, pp.medium == 1 ? SOCK_STREAM : SOCK_SEQPACKET,
                     0, sv);
    pp.fd[0][1] = pp.fd[1][0] = sv[0]; /* The leader's end. */
    pp.fd[1][1] = pp.fd[0][0] = sv[1];
  }
  fz_say(&g->log[0], "pingpong medium=%d n=%d setup=%d", pp.medium, pp.n,
         rc);
  t = fz_start(fz_pp_other, &pp);
  fz_pp_side(&pp, 0);
  fz_join(t);
  if (pp.medium == 0 || pp.medium == 2)
    for (d = 0; d < 2; d++) {
      close(pp.fd[d][0]);
      if (pp.medium == 0)
        close(pp.fd[d][1]);
    }
  if (pp.medium == 1 || pp.medium == 5) {
    close(sv[0]);
    close(sv[1]);
  }
  if (pp.medium == 4)
    for (d = 0; d < 2; d++)
      sem_destroy(&pp.sem[d]);
}

#include "fuzz_wake.h"

#endif /* FUZZ_IO_H */
