/* fuzz_solo.h: the "solo" scenario of fuzz_interp: one thread runs a random
 * script of descriptor calls on objects it alone owns (pipes, stream and
 * seqpacket socketpairs, eventfds, epoll sets), all kept in its group's
 * reserved descriptor numbers, so every result is decided by the script:
 * data counts and hashes, EAGAIN, EPIPE, EBADF on a closed number, POLLNVAL,
 * F_GETFL after F_SETFL or FIONBIO through a dup, F_DUPFD's number, epoll
 * events of a description still registered after its number was closed.
 *
 * A small model of each object (bytes queued per direction, which ends are
 * still open, shutdowns, O_NONBLOCK and receive timeouts per open file
 * description) only decides which calls may block: a blocking read is made
 * only when data, an end of file or a timeout is certain, and a blocking
 * write only when the buffer has room for it.  Everything that could still
 * wait forever takes its non-blocking form instead.  The model follows the
 * results the calls return, so it never has to predict them: the diff
 * between the native and the shimmed transcript is the check.
 */
#ifndef FUZZ_SOLO_H
#define FUZZ_SOLO_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "fuzz.h"

enum fz_kind { FK_PIPE, FK_STREAM, FK_SEQPKT, FK_EVENTFD, FK_EPOLL };

static const char *const fz_kind_name[] = {
  "pipe", "stream", "seqpacket", "eventfd", "epoll"
};

enum {
  FZ_DESCS = 64,       /* Descriptions one solo script may open. */
  FZ_OBJS = 40,        /* Objects one solo script may create. */
  FZ_RING = 4096,      /* Queued seqpacket messages the model tracks. */
  FZ_SAFE_BYTES = 16384, /* Queued bytes below which a blocking write of
                            the rest never waits (pipe and socket). */
  FZ_SAFE_MSGS = 32,   /* Likewise for queued socket writes. */
  FZ_SHUT_RD = 1,      /* fz_desc.shut: this end called SHUT_RD. */
  FZ_SHUT_WR = 2,      /* fz_desc.shut: this end called SHUT_WR. */
};

/* An open file description the script made (what dups share). */
struct fz_desc {
  int obj;      /* Its object. */
  int side;     /* Pipe: 0 read end, 1 write end; socket: 0 or 1. */
  int refs;     /* Reserved numbers that refer to it; 0 once closed. */
  int nonblock; /* O_NONBLOCK, set at creation, F_SETFL or FIONBIO. */
  int rcvtimeo; /* 1 when SO_RCVTIMEO is set (a read cannot hang). */
  int sndtimeo; /* 1 when SO_SNDTIMEO is set (a write cannot hang). */
  int shut;     /* FZ_SHUT_* bits of shutdown() on this end. */
};

/* A pipe, socketpair, eventfd or epoll set. */
struct fz_obj {
  int kind;         /* enum fz_kind. */
  int desc[2];      /* Its descriptions; desc[1] is -1 for one-ended kinds. */
  long queued[2];   /* Bytes readable at side i (a pipe reads at side 0). */
  int writes[2];    /* Writes queued at side i since it was last empty. */
  uint64_t off[2];  /* Bytes written so far towards side i (data stream). */
  uint64_t count;   /* Eventfd counter. */
  int sem;          /* Eventfd made with EFD_SEMAPHORE. */
  int *ring[2];     /* Seqpacket: lengths of the queued messages. */
  int head[2], nmsg[2]; /* Ring position and fill. */
};

/* The state of one solo script. */
struct fz_solo {
  struct fz_log *l;           /* The transcript. */
  struct fz_rng r;            /* The script's random source. */
  int base;                   /* The first reserved descriptor number. */
  int slot[FZ_SLOTS];         /* Description at each number, or -1. */
  int cloexec[FZ_SLOTS];      /* FD_CLOEXEC as the script set it. */
  struct fz_desc d[FZ_DESCS]; /* Descriptions made so far. */
  int nd;
  struct fz_obj o[FZ_OBJS];   /* Objects made so far. */
  int no;
  int step;                   /* Number of the current call, for the log. */
  char buf[70000];            /* I/O buffer. */
};

/* The object at side index s of description d is "the other end". */
static struct fz_desc *fz_peer(struct fz_solo *s, struct fz_desc *d) {
  struct fz_obj *o = &s->o[d->obj];
  int p = o->desc[1 - d->side];

  return (o->kind <= FK_SEQPKT && p >= 0) ? &s->d[p] : NULL;
}

/* A random reserved slot: a used one with probability pct when any is
 * used, else any slot.  Returns the slot index. */
static int fz_pick(struct fz_solo *s, unsigned pct) {
  int used[FZ_SLOTS], n = 0, i;

  for (i = 0; i < FZ_SLOTS; i++)
    if (s->slot[i] >= 0)
      used[n++] = i;
  if (n > 0 && fz_chance(&s->r, pct))
    return used[fz_below(&s->r, n)];
  return (int)fz_below(&s->r, FZ_SLOTS);
}

/* A random free slot, or -1. */
static int fz_free_slot(struct fz_solo *s) {
  int free_[FZ_SLOTS], n = 0, i;

  for (i = 0; i < FZ_SLOTS; i++)
    if (s->slot[i] < 0)
      free_[n++] = i;
  return n ? free_[fz_below(&s->r, n)] : -1;
}

static int fz_nfree(struct fz_solo *s) {
  int n = 0, i;

  for (i = 0; i < FZ_SLOTS; i++)
    n += s->slot[i] < 0;
  return n;
}

/* The description at slot i, or NULL when the number is closed. */
static struct fz_desc *fz_at(struct fz_solo *s, int i) {
  return s->slot[i] >= 0 ? &s->d[s->slot[i]] : NULL;
}

/* Drops the reference slot i holds (the number was closed by close,
 * close_range or as dup2's target). */
static void fz_unref(struct fz_solo *s, int i) {
  struct fz_desc *d = fz_at(s, i);

  s->slot[i] = -1;
  s->cloexec[i] = 0;
  if (d != NULL)
    d->refs--;
}

/* Points slot i at description di (i must be free). */
static void fz_ref(struct fz_solo *s, int i, int di, int cloexec) {
  s->slot[i] = di;
  s->cloexec[i] = cloexec;
  s->d[di].refs++;
}

/* Whether a blocking read at d returns without waiting for anyone. */
static int fz_read_safe(struct fz_solo *s, struct fz_desc *d) {
  struct fz_obj *o = &s->o[d->obj];
  struct fz_desc *p;

  if (d->nonblock)
    return 1;
  switch (o->kind) {
  case FK_PIPE:
    if (d->side == 1)
      return 1; /* EBADF. */
    return o->queued[0] > 0 || s->d[o->desc[1]].refs == 0;
  case FK_STREAM:
  case FK_SEQPKT:
    p = fz_peer(s, d);
    return o->queued[d->side] > 0 || o->nmsg[d->side] > 0 || d->rcvtimeo ||
           (d->shut & FZ_SHUT_RD) || p->refs == 0 || (p->shut & FZ_SHUT_WR);
  case FK_EVENTFD:
    return o->count > 0;
  default:
    return 1; /* EINVAL. */
  }
}

/* Whether a blocking write of n bytes at d returns without waiting. */
static int fz_write_safe(struct fz_solo *s, struct fz_desc *d, size_t n) {
  struct fz_obj *o = &s->o[d->obj];
  struct fz_desc *p;

  if (d->nonblock)
    return 1;
  switch (o->kind) {
  case FK_PIPE:
    if (d->side == 0)
      return 1; /* EBADF. */
    return s->d[o->desc[0]].refs == 0 ||
           o->queued[0] + (long)n <= FZ_SAFE_BYTES;
  case FK_STREAM:
  case FK_SEQPKT:
    p = fz_peer(s, d);
    if (d->sndtimeo || (d->shut & FZ_SHUT_WR) || p->refs == 0 ||
        (p->shut & FZ_SHUT_RD))
      return 1;
    return o->queued[1 - d->side] + (long)n <= FZ_SAFE_BYTES &&
           o->writes[1 - d->side] < FZ_SAFE_MSGS;
  default:
    return 1; /* Small eventfd values; EINVAL for epoll. */
  }
}

/* Records that rc bytes were written through d (rc > 0). */
static void fz_wrote(struct fz_solo *s, struct fz_desc *d, long rc) {
  struct fz_obj *o = &s->o[d->obj];
  int to = o->kind == FK_PIPE ? 0 : 1 - d->side;

  o->queued[to] += rc;
  o->writes[to]++;
  o->off[to] += rc;
  if (o->kind == FK_SEQPKT && o->nmsg[to] < FZ_RING) {
    o->ring[to][(o->head[to] + o->nmsg[to]) % FZ_RING] = (int)rc;
    o->nmsg[to]++;
  }
}

/* Records that rc bytes were read (consumed) at d (rc > 0). */
static void fz_consumed(struct fz_solo *s, struct fz_desc *d, long rc) {
  struct fz_obj *o = &s->o[d->obj];
  int at = o->kind == FK_PIPE ? 0 : d->side;

  if (o->kind == FK_SEQPKT && o->nmsg[at] > 0) {
    rc = o->ring[at][o->head[at]]; /* The rest of a message is dropped. */
    o->head[at] = (o->head[at] + 1) % FZ_RING;
    o->nmsg[at]--;
  }
  o->queued[at] -= rc;
  if (o->queued[at] <= 0) {
    o->queued[at] = 0;
    o->writes[at] = 0;
  }
}

#include "fuzz_solo_ops.h"

/* Runs a solo script of 30 to 120 calls; the log is the transcript. */
static void fz_solo_run(struct fz_group *g, struct fz_log *l) {
  struct fz_solo *s = calloc(1, sizeof *s);
  int i, n;

  if (s == NULL)
    abort();
  s->l = l;
  s->r.s = g->seed;
  s->base = g->slot;
  for (i = 0; i < FZ_SLOTS; i++)
    s->slot[i] = -1;
  n = (int)fz_range(&s->r, 30, 120);
  for (s->step = 0; s->step < n; s->step++)
    fz_solo_step(s);
  for (i = 0; i < FZ_SLOTS; i++)
    if (s->slot[i] >= 0)
      close(s->base + i);
  for (i = 0; i < s->no; i++) {
    free(s->o[i].ring[0]);
    free(s->o[i].ring[1]);
  }
  free(s);
}

#endif /* FUZZ_SOLO_H */
