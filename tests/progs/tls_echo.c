/* tls_echo: a thread-per-connection TLS echo server and its clients, in
 * one process, with OpenSSL over blocking sockets.
 *
 *   tls_echo CLIENTS
 *
 * Makes a self-signed P-256 certificate in memory, listens on 127.0.0.1,
 * and starts an acceptor thread (one handler thread per connection:
 * SSL_accept, then SSL_read/SSL_write echo until the client closes) and
 * CLIENTS client threads. Each client connects, completes the handshake,
 * waits until every client has, then sends 8 messages of 1 byte to 64 KiB
 * (several TLS records each), reads each echo back whole and compares it,
 * and shuts the connection down. A ticker thread counts 1 ms sleeps.
 * Prints ok (clients whose every echo matched), bytes (echoed in all),
 * ticked, and threads (OS threads once every client has connected).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "threads_now.h"

#define MAXC 64

static SSL_CTX *server_ctx, *client_ctx;
static struct sockaddr_in addr;
static int lfd, nclients;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int connected, go, ok;
static long bytes;
static volatile int stop;
static volatile long ticks;

/* A self-signed certificate for the server context. */
static int make_cert(SSL_CTX *ctx) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  int r = -1;

  if (key == NULL || x == NULL)
    goto out;
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             (const unsigned char *)"localhost", -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  if (X509_sign(x, key, EVP_sha256()) > 0
      && SSL_CTX_use_certificate(ctx, x) == 1
      && SSL_CTX_use_PrivateKey(ctx, key) == 1)
    r = 0;
out:
  X509_free(x);
  EVP_PKEY_free(key);
  return r;
}

static void *handler(void *arg) {
  int fd = (int)(long)arg;
  SSL *s = SSL_new(server_ctx);
  char buf[16384];
  int n;

  SSL_set_fd(s, fd);
  if (SSL_accept(s) == 1)
    while ((n = SSL_read(s, buf, sizeof buf)) > 0)
      if (SSL_write(s, buf, n) != n)
        break;
  SSL_shutdown(s);
  SSL_free(s);
  close(fd);
  return NULL;
}

static void *acceptor(void *arg) {
  (void)arg;
  for (;;) {
    pthread_t t;
    int c = accept(lfd, NULL, NULL);

    if (c < 0)
      return NULL;
    pthread_create(&t, NULL, handler, (void *)(long)c);
    pthread_detach(t);
  }
}

/* Reads exactly n bytes; 0 or -1. */
static int read_all(SSL *s, char *buf, int n) {
  int got = 0, k;

  while (got < n) {
    if ((k = SSL_read(s, buf + got, n - got)) <= 0)
      return -1;
    got += k;
  }
  return 0;
}

/* Connects, handshakes, waits for the others, echoes 8 messages. */
static int client_run(int id, char *out, char *in) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), i, good = 1;
  SSL *s = SSL_new(client_ctx);
  long moved = 0;

  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
    return -1;
  SSL_set_fd(s, fd);
  if (SSL_connect(s) != 1)
    good = 0;
  pthread_mutex_lock(&mu);
  connected++;
  pthread_cond_broadcast(&cv);
  while (!go)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  for (i = 0; good && i < 8; i++) {
    int n = 1 << (2 * i + 2) > 65536 ? 65536 : 1 << (2 * i + 2), j;

    for (j = 0; j < n; j++)
      out[j] = (char)(id * 31 + i * 7 + j);
    good = SSL_write(s, out, n) == n && read_all(s, in, n) == 0
           && memcmp(out, in, n) == 0;
    moved += n;
  }
  SSL_shutdown(s);
  SSL_free(s);
  close(fd);
  pthread_mutex_lock(&mu);
  ok += good;
  bytes += good ? moved : 0;
  pthread_mutex_unlock(&mu);
  return 0;
}

static void *client(void *arg) {
  char *out = malloc(65536), *in = malloc(65536);

  if (client_run((int)(long)arg, out, in) != 0) {
    pthread_mutex_lock(&mu);
    connected++; /* counted, so main does not wait for it */
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
  }
  free(out);
  free(in);
  return NULL;
}

static void *ticker(void *arg) {
  (void)arg;
  while (!stop) {
    usleep(1000);
    ticks++;
  }
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t a, t, c[MAXC];
  socklen_t len = sizeof addr;
  int i, threads;
  long k0;

  nclients = argc > 1 ? atoi(argv[1]) : 20;
  if (nclients < 1 || nclients > MAXC)
    return 64;
  server_ctx = SSL_CTX_new(TLS_server_method());
  client_ctx = SSL_CTX_new(TLS_client_method());
  if (make_cert(server_ctx) != 0) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (bind(lfd, (struct sockaddr *)&addr, len) != 0 || listen(lfd, 128) != 0
      || getsockname(lfd, (struct sockaddr *)&addr, &len) != 0)
    return 1;
  pthread_create(&t, NULL, ticker, NULL);
  pthread_create(&a, NULL, acceptor, NULL);
  for (i = 0; i < nclients; i++)
    pthread_create(&c[i], NULL, client, (void *)(long)i);
  pthread_mutex_lock(&mu);
  while (connected < nclients)
    pthread_cond_wait(&cv, &mu);
  threads = threads_now();
  k0 = ticks;
  go = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (i = 0; i < nclients; i++)
    pthread_join(c[i], NULL);
  printf("threads=%d\nok=%d\nbytes=%ld\nticked=%d\n", threads, ok, bytes,
         ticks > k0);
  fflush(stdout);
  _exit(0); /* the acceptor still waits in accept */
}
