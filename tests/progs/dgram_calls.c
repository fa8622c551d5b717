/* dgram_calls: datagram reads and writes through every call form keep
 * their results (the shim sends a single buffer through send/recv and a
 * message through sendmsg/recvmsg; see shim/socket/io.c).
 *
 * In a thread (a second one stays alive, so the calls are cooperative
 * under gpatch), over two UDP sockets of 127.0.0.1, each step sends an
 * 8-byte datagram "datagram" and reads it back in one way. Prints:
 *
 *   short_recv       recv into 4 bytes: 4 (the rest is discarded)
 *   next_recv        the next datagram, whole: 8
 *   trunc_flag       recv(MSG_TRUNC) into 4 bytes: 8, the real length
 *   msg_len, msg_trunc   recvmsg into 4 bytes: 4, and MSG_TRUNC in
 *                    msg_flags (1)
 *   peek, after_peek recv(MSG_PEEK), then read: 8 and 8
 *   from_len, from_addr_len, from_port  recvfrom with a full address:
 *                    8, the address length 16, the sender's port (1)
 *   short_addr_len   recvfrom with a 4-byte address buffer: the real
 *                    address length, 16
 *   readv_len        readv of two 4-byte buffers: 8
 *   sendmsg_len, sendmsg_read  sendmsg of two pieces to an address: 8;
 *                    the datagram read: 8
 *   late             a recv that waits for a datagram sent 50 ms later: 8
 *   threads          OS threads while main and the two threads run
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "threads_now.h"

/* The idler waits here until the reader thread has counted the OS threads
 * (natively its sleep could end before the count). */
static pthread_barrier_t gate;

static int rx, tx;
static struct sockaddr_in rx_addr, tx_addr;

/* A UDP socket bound to an ephemeral port of 127.0.0.1, its address in a. */
static int bound(struct sockaddr_in *a) {
  socklen_t len = sizeof *a;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || bind(s, (struct sockaddr *)a, sizeof *a) != 0 ||
      getsockname(s, (struct sockaddr *)a, &len) != 0) {
    perror("dgram_calls: bind");
    _exit(2);
  }
  return s;
}

static void post(void) {
  sendto(tx, "datagram", 8, 0, (struct sockaddr *)&rx_addr, sizeof rx_addr);
}

static void *late_sender(void *arg) {
  (void)arg;
  usleep(50 * 1000);
  post();
  return NULL;
}

static void *reader(void *arg) {
  char buf[64];
  (void)arg;
  printf("threads=%d\n", threads_now()); /* main, the idler, this one */
  pthread_barrier_wait(&gate); /* the idler waits there until now */
  post();
  post();
  printf("short_recv=%zd\n", recv(rx, buf, 4, 0));
  printf("next_recv=%zd\n", recv(rx, buf, sizeof buf, 0));
  post();
  printf("trunc_flag=%zd\n", recv(rx, buf, 4, MSG_TRUNC));

  post();
  struct iovec iov = {buf, 4};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  printf("msg_len=%zd\n", recvmsg(rx, &m, 0));
  printf("msg_trunc=%d\n", (m.msg_flags & MSG_TRUNC) != 0);

  post();
  printf("peek=%zd\n", recv(rx, buf, sizeof buf, MSG_PEEK));
  printf("after_peek=%zd\n", read(rx, buf, sizeof buf));

  post();
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  printf("from_len=%zd\n",
         recvfrom(rx, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  printf("from_addr_len=%u\nfrom_port=%d\n", (unsigned)fl,
         from.sin_port == tx_addr.sin_port);
  post();
  char tiny[4];
  fl = sizeof tiny;
  recvfrom(rx, buf, sizeof buf, 0, (struct sockaddr *)tiny, &fl);
  printf("short_addr_len=%u\n", (unsigned)fl);

  post();
  char a[4], b[4];
  struct iovec two[2] = {{a, 4}, {b, 4}};
  printf("readv_len=%zd\n", readv(rx, two, 2));

  struct iovec parts[2] = {{"data", 4}, {"gram", 4}};
  struct msghdr out = {.msg_name = &rx_addr, .msg_namelen = sizeof rx_addr,
                       .msg_iov = parts, .msg_iovlen = 2};
  printf("sendmsg_len=%zd\n", sendmsg(tx, &out, 0));
  printf("sendmsg_read=%zd\n", recv(rx, buf, sizeof buf, 0));

  pthread_t w;
  pthread_create(&w, NULL, late_sender, NULL);
  printf("late=%zd\n", recv(rx, buf, sizeof buf, 0));
  pthread_join(w, NULL);
  return NULL;
}

static void *idler(void *arg) { /* keeps a second thread alive */
  (void)arg;
  pthread_barrier_wait(&gate); /* alive until counted */
  usleep(3000 * 1000);
  return NULL;
}

int main(void) {
  rx = bound(&rx_addr);
  tx = bound(&tx_addr);
  pthread_t idle, r;
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&idle, NULL, idler, NULL);
  pthread_detach(idle);
  pthread_create(&r, NULL, reader, NULL);
  pthread_join(r, NULL);
  fflush(stdout);
  return 0;
}
