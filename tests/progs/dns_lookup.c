/* dns_lookup: name look-ups that need no network, from a thread.
 *
 *   dns_lookup
 *
 * In a thread (a second one ticks meanwhile, so a preloaded run has a
 * coroutine to switch to): getaddrinfo for localhost, for the first name
 * of /etc/hosts that is not localhost (when there is one), for numeric
 * hosts, and for failures (unknown service, bad family, a non-numeric host
 * with AI_NUMERICHOST, a name under .invalid); getnameinfo of 127.0.0.1;
 * gethostbyname, gethostbyname2, gethostbyname_r (also with a buffer too
 * small: ERANGE), gethostbyname2_r, gethostbyaddr and gethostbyaddr_r.
 * Prints each result as key=value tokens (return codes, h_errno, and the
 * addresses and names found, comma-separated), threads, and
 * threads_after (the OS threads once the look-ups are done).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "threads_now.h"

static volatile int done;

/* Prints key=rc and key_addrs=family/socktype/address/port,... */
static void show_gai(const char *key, const char *node, const char *serv,
                     int family, int flags) {
  struct addrinfo hints, *res = NULL, *ai;
  int rc;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_flags = flags;
  rc = getaddrinfo(node, serv, &hints, &res);
  printf("%s=%d %s_addrs=", key, rc, key);
  for (ai = rc == 0 ? res : NULL; ai != NULL; ai = ai->ai_next) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (ai->ai_family == AF_INET) {
      struct sockaddr_in *s = (struct sockaddr_in *)ai->ai_addr;

      inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
      port = ntohs(s->sin_port);
    } else if (ai->ai_family == AF_INET6) {
      struct sockaddr_in6 *s = (struct sockaddr_in6 *)ai->ai_addr;

      inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
      port = ntohs(s->sin6_port);
    }
    printf("%d/%d/%s/%d%s", ai->ai_family, ai->ai_socktype, host, port,
           ai->ai_next ? "," : "");
  }
  if (rc == 0 && (flags & AI_CANONNAME))
    printf(" %s_canon=%s", key, res->ai_canonname);
  printf("\n");
  if (rc == 0)
    freeaddrinfo(res);
}

/* Prints key_name, key_aliases and key_addrs of a hostent, or key=null
 * and key_herrno. */
static void show_he(const char *key, const struct hostent *he, int herr) {
  char **p;

  if (he == NULL) {
    printf("%s=null %s_herrno=%d\n", key, key, herr);
    return;
  }
  printf("%s=ok %s_name=%s %s_type=%d %s_aliases=", key, key, he->h_name,
         key, he->h_addrtype, key);
  for (p = he->h_aliases; *p != NULL; p++)
    printf("%s%s", *p, p[1] ? "," : "");
  printf(" %s_addrs=", key);
  for (p = he->h_addr_list; *p != NULL; p++) {
    char host[INET6_ADDRSTRLEN];

    inet_ntop(he->h_addrtype, *p, host, sizeof host);
    printf("%s%s", host, p[1] ? "," : "");
  }
  printf("\n");
}

/* The first name of /etc/hosts that is not localhost, or NULL. */
static char *hosts_name(void) {
  static char name[256];
  char line[512];
  FILE *f = fopen("/etc/hosts", "re");

  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    char addr[128];

    if (line[0] != '#' && sscanf(line, "%127s %255s", addr, name) == 2
        && strchr(addr, '.') != NULL && strcmp(name, "localhost") != 0
        && name[0] != '#') {
      fclose(f);
      return name;
    }
  }
  if (f != NULL)
    fclose(f);
  return NULL;
}

static void lookups_gai(void) {
  char *h = hosts_name();

  show_gai("gai_localhost", "localhost", "80", AF_INET, 0);
  show_gai("gai_localhost_canon", "localhost", NULL, AF_INET, AI_CANONNAME);
  printf("hosts_name=%s\n", h ? h : "none");
  if (h != NULL)
    show_gai("gai_hosts", h, "7", AF_UNSPEC, 0);
  show_gai("gai_numeric4", "127.0.0.1", "8080", AF_UNSPEC, 0);
  show_gai("gai_numeric6", "::1", "8080", AF_INET6, AI_NUMERICHOST);
  show_gai("gai_passive", NULL, "8080", AF_INET, AI_PASSIVE);
  show_gai("gai_service_name", "localhost", "echo", AF_INET, 0);
  show_gai("gai_bad_service", "localhost", "no-such-service", AF_INET, 0);
  show_gai("gai_bad_family", "localhost", NULL, 12345, 0);
  show_gai("gai_not_numeric", "localhost", NULL, AF_INET, AI_NUMERICHOST);
  show_gai("gai_invalid", "no-such-host.invalid", NULL, AF_INET, 0);
}

static void lookups_gni(void) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  char host[256] = "", serv[64] = "";
  int rc;

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(7);
  rc = getnameinfo((struct sockaddr *)&a, sizeof a, host, sizeof host, serv,
                   sizeof serv, 0);
  printf("gni=%d gni_host=%s gni_serv=%s\n", rc, host, serv);
  rc = getnameinfo((struct sockaddr *)&a, sizeof a, host, sizeof host, serv,
                   sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
  printf("gni_numeric=%d gni_numeric_host=%s gni_numeric_serv=%s\n", rc,
         host, serv);
  rc = getnameinfo((struct sockaddr *)&a, sizeof a, host, 3, NULL, 0, 0);
  printf("gni_small=%d\n", rc);
  a.sin_family = 12345;
  rc = getnameinfo((struct sockaddr *)&a, sizeof a, host, sizeof host, NULL,
                   0, 0);
  printf("gni_bad_family=%d\n", rc);
}

static void lookups_hostent(void) {
  struct hostent he, *res;
  char buf[4096];
  int herr = 0, rc;
  struct in_addr lo = { htonl(INADDR_LOOPBACK) };

  show_he("ghbn", gethostbyname("localhost"), h_errno);
  show_he("ghbn_numeric", gethostbyname("127.0.0.1"), h_errno);
  show_he("ghbn_invalid", gethostbyname("no-such-host.invalid"), h_errno);
  show_he("ghbn2", gethostbyname2("localhost", AF_INET), h_errno);
  rc = gethostbyname_r("localhost", &he, buf, sizeof buf, &res, &herr);
  printf("ghbn_r=%d ghbn_r_errno=%d\n", rc, rc ? errno : 0);
  show_he("ghbn_r", res, herr);
  rc = gethostbyname_r("localhost", &he, buf, 8, &res, &herr);
  printf("ghbn_r_small=%d ghbn_r_small_null=%d ghbn_r_small_herr=%d\n", rc,
         res == NULL, herr);
  rc = gethostbyname2_r("localhost", AF_INET, &he, buf, sizeof buf, &res,
                        &herr);
  printf("ghbn2_r=%d\n", rc);
  show_he("ghbn2_r", res, herr);
  show_he("ghba", gethostbyaddr(&lo, sizeof lo, AF_INET), h_errno);
  rc = gethostbyaddr_r(&lo, sizeof lo, AF_INET, &he, buf, sizeof buf, &res,
                       &herr);
  printf("ghba_r=%d\n", rc);
  show_he("ghba_r", res, herr);
}

static void *lookups(void *arg) {
  (void)arg;
  printf("threads=%d\n", threads_now());
  lookups_gai();
  lookups_gni();
  lookups_hostent();
  printf("threads_after=%d\n", threads_now());
  done = 1;
  return NULL;
}

static void *ticker(void *arg) {
  (void)arg;
  while (!done)
    usleep(1000);
  return NULL;
}

int main(void) {
  pthread_t t[2];

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&t[1], NULL, ticker, NULL);
  pthread_create(&t[0], NULL, lookups, NULL);
  pthread_join(t[0], NULL);
  pthread_join(t[1], NULL);
  return 0;
}
