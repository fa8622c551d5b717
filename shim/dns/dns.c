/* dns.c: name look-ups off the loop: getaddrinfo, getnameinfo,
 * gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r,
 * gethostbyaddr, gethostbyaddr_r.
 *
 * A look-up may wait seconds for a name server, and glibc gives it no
 * non-blocking form. So each hook runs the real function on a pool thread
 * of the DNS lane (offload.c) while the calling coroutine parks: the
 * results, EAI_* codes, h_errno and errno are exactly what the real call
 * gives, and a slow resolver stalls only its caller. Calls that cannot
 * wait (numeric hosts and services) stay on the calling thread.
 *
 * The non-reentrant calls return glibc's static storage, as they do
 * natively: two threads that call them at once race there either way.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <string.h>

#include "core/guard.h"
#include "core/offload.h"
#include "real.h"

/* May this look-up park its caller? */
static int may_offload(void) {
  return gp_coop(GP_FAM_DNS) && gp__live() > 1;
}

/* 1 when getaddrinfo answers without any database: a numeric host (or
 * none) and a numeric service (or none), no canonical name asked. */
static int gai_numeric(const char *node, const char *serv,
                       const struct addrinfo *hints) {
  int flags = hints ? hints->ai_flags : 0;
  unsigned char a[16];
  if (flags & AI_CANONNAME)
    return 0;
  if (node && !(flags & AI_NUMERICHOST) && inet_pton(AF_INET, node, a) != 1 &&
      inet_pton(AF_INET6, node, a) != 1)
    return 0;
  return serv == NULL || (flags & AI_NUMERICSERV) ||
         (serv[0] != '\0' && serv[strspn(serv, "0123456789")] == '\0');
}

struct gai {
  const char *node, *serv;
  const struct addrinfo *hints;
  struct addrinfo **res;
  int rc;
};

static void gai_fn(void *p) {
  struct gai *c = p;
  c->rc = GP_REAL(getaddrinfo)(c->node, c->serv, c->hints, c->res);
}

GP_EXPORT int getaddrinfo(const char *node, const char *serv,
                          const struct addrinfo *hints,
                          struct addrinfo **res) {
  struct gai c = {node, serv, hints, res, 0};
  if (!may_offload() || gai_numeric(node, serv, hints) ||
      gp_offload(GP_LANE_DNS, gai_fn, &c) != 0)
    return GP_REAL(getaddrinfo)(node, serv, hints, res);
  return c.rc;
}

struct gni {
  const struct sockaddr *sa;
  socklen_t salen;
  char *host;
  socklen_t hostlen;
  char *serv;
  socklen_t servlen;
  int flags, rc;
};

static void gni_fn(void *p) {
  struct gni *c = p;
  c->rc = GP_REAL(getnameinfo)(c->sa, c->salen, c->host, c->hostlen,
                               c->serv, c->servlen, c->flags);
}

GP_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen,
                          char *host, socklen_t hostlen, char *serv,
                          socklen_t servlen, int flags) {
  struct gni c = {sa, salen, host, hostlen, serv, servlen, flags, 0};
  int numeric = (!host || !hostlen || (flags & NI_NUMERICHOST)) &&
                (!serv || !servlen || (flags & NI_NUMERICSERV));
  if (!may_offload() || numeric || gp_offload(GP_LANE_DNS, gni_fn, &c) != 0)
    return GP_REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen,
                                flags);
  return c.rc;
}

/* The gethostby* calls, in one record: op says which. */
enum { BYNAME, BYNAME2, BYNAME_R, BYNAME2_R, BYADDR, BYADDR_R };

struct hbn {
  int op;
  const char *name;       /* BYNAME* */
  const void *addr;       /* BYADDR* */
  socklen_t len;          /* BYADDR* */
  int af;                 /* BYNAME2*, BYADDR* */
  struct hostent *ret;    /* the _r calls' arguments */
  char *buf;
  size_t buflen;
  struct hostent **result;
  int *herr;
  struct hostent *he;     /* the plain calls' result */
  int rc;                 /* the _r calls' result */
};

static void hbn_fn(void *p) {
  struct hbn *c = p;
  switch (c->op) {
  case BYNAME: c->he = GP_REAL(gethostbyname)(c->name); break;
  case BYNAME2: c->he = GP_REAL(gethostbyname2)(c->name, c->af); break;
  case BYADDR: c->he = GP_REAL(gethostbyaddr)(c->addr, c->len, c->af); break;
  case BYNAME_R:
    c->rc = GP_REAL(gethostbyname_r)(c->name, c->ret, c->buf, c->buflen,
                                     c->result, c->herr);
    break;
  case BYNAME2_R:
    c->rc = GP_REAL(gethostbyname2_r)(c->name, c->af, c->ret, c->buf,
                                      c->buflen, c->result, c->herr);
    break;
  case BYADDR_R:
    c->rc = GP_REAL(gethostbyaddr_r)(c->addr, c->len, c->af, c->ret, c->buf,
                                     c->buflen, c->result, c->herr);
    break;
  }
}

/* Runs c on the pool; 0, or -1 when the caller must call it itself. */
static int hbn(struct hbn *c) {
  return may_offload() ? gp_offload(GP_LANE_DNS, hbn_fn, c) : -1;
}

GP_EXPORT struct hostent *gethostbyname(const char *name) {
  struct hbn c = {.op = BYNAME, .name = name};
  return hbn(&c) == 0 ? c.he : GP_REAL(gethostbyname)(name);
}

GP_EXPORT struct hostent *gethostbyname2(const char *name, int af) {
  struct hbn c = {.op = BYNAME2, .name = name, .af = af};
  return hbn(&c) == 0 ? c.he : GP_REAL(gethostbyname2)(name, af);
}

GP_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len,
                                        int af) {
  struct hbn c = {.op = BYADDR, .addr = addr, .len = len, .af = af};
  return hbn(&c) == 0 ? c.he : GP_REAL(gethostbyaddr)(addr, len, af);
}

GP_EXPORT int gethostbyname_r(const char *name, struct hostent *ret,
                              char *buf, size_t buflen,
                              struct hostent **result, int *herr) {
  struct hbn c = {.op = BYNAME_R, .name = name, .ret = ret, .buf = buf,
                  .buflen = buflen, .result = result, .herr = herr};
  if (hbn(&c) == 0)
    return c.rc;
  return GP_REAL(gethostbyname_r)(name, ret, buf, buflen, result, herr);
}

GP_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret,
                               char *buf, size_t buflen,
                               struct hostent **result, int *herr) {
  struct hbn c = {.op = BYNAME2_R, .name = name, .af = af, .ret = ret,
                  .buf = buf, .buflen = buflen, .result = result,
                  .herr = herr};
  if (hbn(&c) == 0)
    return c.rc;
  return GP_REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result, herr);
}

GP_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int af,
                              struct hostent *ret, char *buf, size_t buflen,
                              struct hostent **result, int *herr) {
  struct hbn c = {.op = BYADDR_R, .addr = addr, .len = len, .af = af,
                  .ret = ret, .buf = buf, .buflen = buflen, .result = result,
                  .herr = herr};
  if (hbn(&c) == 0)
    return c.rc;
  return GP_REAL(gethostbyaddr_r)(addr, len, af, ret, buf, buflen, result,
                                  herr);
}
