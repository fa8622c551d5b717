/* Real Debian daemons under the shim, each on a loopback port, driven by
 * an unpatched client: redis-server (event loop plus background threads
 * on condvars) with redis-benchmark -c 100; memcached -t 4 (libevent, one
 * loop per worker thread) with memcslap and every value read back;
 * Python's http.server (ThreadingHTTPServer, with a listen backlog of
 * 128 instead of 5: see tests/progs/http_serve.py) with 200 concurrent
 * downloads checked by SHA-256; apache2 with its worker and event MPMs
 * (one child, 200 threads per child) under ab -c 100 and 200 concurrent
 * downloads checked by SHA-256, its child on one OS thread and stopped by
 * SIGTERM. Each must run on one OS thread. A daemon
 * that is not installed (make deps installs them) is skipped with the
 * reason printed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void need(const char *path) {
  if (access(path, X_OK) != 0)
    cr_skip_test("%s is not installed (make deps installs it)", path);
}

/* The OS threads of process pid but jemalloc's background thread (which
 * jemalloc starts through a pthread_create it looks up with dlsym from a
 * library loaded after the shim, out of its reach; README says so) and
 * gpatch's hand-off monitor (GPATCH_TLS=private; asleep, runs no program
 * code), or -1. */
static long threads_but_jemalloc(pid_t pid) {
  char path[320], comm[64];
  long n = 0;
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (d == NULL)
    return -1;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid,
             e->d_name);
    FILE *f = fopen(path, "r");
    if (f && fgets(comm, sizeof comm, f) &&
        strncmp(comm, "jemalloc_bg_thd", 15) != 0 &&
        strncmp(comm, "gpatch-handoff", 14) != 0)
      n++;
    if (f)
      fclose(f);
  }
  closedir(d);
  return n;
}

/* The OS threads of process pid but gpatch's hand-off monitor, or -1. */
static long threads_of(pid_t pid) { return threads_but_jemalloc(pid); }

/* Whether process pid has exited (a zombie waiting to be reaped). */
static int exited(pid_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return p == NULL || p[2] == 'Z';
}

/* Waits up to timeout_s for the server p to listen on port; when it does
 * not (it exited: a port taken meanwhile, a crash), stops it and fails
 * the test with its status and output. */
static void listening(struct gp_proc *p, int port, double timeout_s,
                      const char *what) {
  struct gp_run r;

  if (gp_wait_listen(port, p, timeout_s) == 0)
    return;
  gp_stop(p, SIGKILL, 5, &r);
  cr_assert_fail("%s never listened on port %d; %s", what, port,
                 gp_describe(&r));
}

Test(daemons, redis_server_with_redis_benchmark) {
  need("/usr/bin/redis-server");
  need("/usr/bin/redis-benchmark");
  int port = gp_free_port();
  char port_s[16];
  snprintf(port_s, sizeof port_s, "%d", port);
  struct gp_proc srv;
  struct gp_run r, stopped;
  cr_assert_eq(gp_start(&srv, 1, NULL, "/usr/bin/redis-server",
                        GP_ARGV("--port", port_s, "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no")), 0);
  listening(&srv, port, 20, "redis");
  gp_run_ok(&r, 0, NULL, 120, "/usr/bin/redis-benchmark",
            GP_ARGV("-p", port_s, "-c", "100", "-n", "20000", "-q", "-t",
                    "set,get,incr,lpush"));
  cr_expect_neq(strstr(r.out, "GET:"), NULL, "%s", r.out);
  cr_expect_neq(strstr(r.out, "requests per second"), NULL, "%s", r.out);
  gp_run_free(&r);
  gp_run_ok(&r, 0, NULL, 20, "/usr/bin/redis-cli",
            GP_ARGV("-p", port_s, "set", "gpatch", "works"));
  gp_run_free(&r);
  gp_run_ok(&r, 0, NULL, 20, "/usr/bin/redis-cli",
            GP_ARGV("-p", port_s, "get", "gpatch"));
  cr_expect_eq(strcmp(r.out, "works\n"), 0, "%s", r.out);
  gp_run_free(&r);
  long threads = threads_but_jemalloc(srv.pid);
  gp_stop(&srv, SIGTERM, 20, &stopped);
  cr_expect_eq(threads, 1, "redis-server ran on %ld OS threads", threads);
  cr_expect(!stopped.timed_out, "redis-server did not stop on SIGTERM");
  gp_run_free(&stopped);
}

/* Sends a memcached text command and reads the reply until end. */
static int mc_ask(int fd, const char *cmd, const char *end, char *out,
                  size_t cap) {
  if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
    return -1;
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, out + n, cap - 1 - n);
    if (r <= 0)
      return -1;
    n += (size_t)r;
    out[n] = 0;
    if (strstr(out, end))
      return 0;
  }
  return -1;
}

Test(daemons, memcached_four_workers_values_read_back) {
  need("/usr/bin/memcached");
  need("/usr/bin/memcslap");
  int port = gp_free_port();
  char port_s[16], servers[64];
  snprintf(port_s, sizeof port_s, "%d", port);
  snprintf(servers, sizeof servers, "--servers=127.0.0.1:%d", port);
  struct gp_proc srv;
  struct gp_run r, stopped;
  cr_assert_eq(gp_start(&srv, 1, NULL, "/usr/bin/memcached",
                        GP_ARGV("-t", "4", "-p", port_s, "-U", "0", "-l",
                                "127.0.0.1", "-u", "root")), 0);
  listening(&srv, port, 20, "memcached");
  gp_run_ok(&r, 0, NULL, 120, "/usr/bin/memcslap",
            GP_ARGV(servers, "--concurrency=50", "--execute-number=1000"));
  gp_run_free(&r);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  int stored = 0, matched = 0;
  char cmd[128], reply[256], want[128];
  for (int i = 0; i < 200; i++) {
    snprintf(cmd, sizeof cmd, "set gp%d 0 0 %d\r\nvalue-%05d\r\n", i, 11, i);
    stored += mc_ask(fd, cmd, "\r\n", reply, sizeof reply) == 0 &&
              strcmp(reply, "STORED\r\n") == 0;
  }
  for (int i = 0; i < 200; i++) {
    snprintf(cmd, sizeof cmd, "get gp%d\r\n", i);
    snprintf(want, sizeof want, "VALUE gp%d 0 11\r\nvalue-%05d\r\nEND\r\n",
             i, i);
    matched += mc_ask(fd, cmd, "END\r\n", reply, sizeof reply) == 0 &&
               strcmp(reply, want) == 0;
  }
  close(fd);
  long threads = threads_of(srv.pid);
  gp_stop(&srv, SIGTERM, 20, &stopped);
  cr_expect_eq(stored, 200);
  cr_expect_eq(matched, 200);
  cr_expect_eq(threads, 1, "memcached ran on %ld OS threads", threads);
  gp_run_free(&stopped);
}

Test(daemons, python_threading_http_server_200_downloads) {
  need("/usr/bin/python3");
  char dir[] = "/tmp/gpatch-http.XXXXXX", file[64], cmd[256], port_s[16];
  cr_assert_neq(mkdtemp(dir), NULL);
  snprintf(file, sizeof file, "%s/blob", dir);
  snprintf(cmd, sizeof cmd, "head -c 262144 /dev/urandom > %s", file);
  cr_assert_eq(system(cmd), 0);
  int port = gp_free_port();
  snprintf(port_s, sizeof port_s, "%d", port);
  struct gp_proc srv, cli;
  struct gp_run r, stopped;
  char serve[4096], script[4096];
  /* The scripts of the source tree (gp_src, as for squid below: also
   * right for a build directory elsewhere, with GPATCH_TEST_SRC). */
  snprintf(script, sizeof script, "%s/tests/progs/http_get.py",
           gp_src() ? gp_src() : ".");
  snprintf(serve, sizeof serve, "%s/tests/progs/http_serve.py",
           gp_src() ? gp_src() : ".");
  cr_assert_eq(gp_start(&srv, 1, NULL, "/usr/bin/python3",
                        GP_ARGV(serve, port_s, dir)), 0);
  listening(&srv, port, 20, "http.server");
  cr_assert_eq(gp_start(&cli, 0, NULL, "/usr/bin/python3",
                        GP_ARGV(script, port_s, file)), 0);
  long peak = 0;
  for (int i = 0; i < 12000 && !exited(cli.pid); i++) { /* up to 60 s */
    long t = threads_of(srv.pid);
    peak = t > peak ? t : peak;
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  gp_stop(&cli, 0, 60, &r);
  gp_expect_exit(&r, 0);
  cr_expect_neq(strstr(r.out, "downloads=200 ok=200"), NULL, "%s %s", r.out,
                r.err);
  gp_run_free(&r);
  gp_stop(&srv, SIGTERM, 20, &stopped);
  gp_run_free(&stopped);
  cr_expect_eq(peak, 1, "http.server peaked at %ld OS threads", peak);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  system(cmd);
}

/* Writes an apache2 configuration for mpm (worker or event) serving dir
 * on port: one child with 200 threads, running as www-data when started
 * as root (apache refuses to serve as root). */
static void apache_conf(const char *dir, int port, const char *mpm) {
  char path[128];
  snprintf(path, sizeof path, "%s/httpd.conf", dir);
  FILE *f = fopen(path, "w");
  cr_assert(f != NULL);
  fprintf(f,
          "ServerRoot \"%s\"\nListen 127.0.0.1:%d\n"
          "PidFile %s/httpd.pid\nErrorLog %s/error.log\n"
          "LoadModule mpm_%s_module /usr/lib/apache2/modules/mod_mpm_%s.so\n"
          "LoadModule authz_core_module "
          "/usr/lib/apache2/modules/mod_authz_core.so\n"
          "LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so\n"
          "TypesConfig /etc/mime.types\nUser www-data\nGroup www-data\n"
          "ServerName localhost\nDocumentRoot \"%s\"\n"
          "StartServers 1\nServerLimit 1\nThreadsPerChild 200\n"
          "MaxRequestWorkers 200\nMinSpareThreads 1\nMaxSpareThreads 200\n"
          "<Directory \"%s\">\n  Require all granted\n</Directory>\n",
          dir, port, dir, dir, mpm, mpm, dir, dir);
  fclose(f);
}

/* The child of apache2's parent pid (the process that serves), or 0. */
static pid_t apache_child(pid_t parent) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent,
           (int)parent);
  FILE *f = fopen(path, "r");
  long child = 0;
  if (f && fscanf(f, "%ld", &child) != 1)
    child = 0;
  if (f)
    fclose(f);
  return (pid_t)child;
}

static void apache_with(const char *mpm) {
  need("/usr/sbin/apache2");
  need("/usr/bin/ab");
  need("/usr/bin/python3");
  char dir[] = "/tmp/gpatch-apache.XXXXXX", file[96], cmd[256], port_s[16],
       conf[96], url[96], script[4096];
  cr_assert_neq(mkdtemp(dir), NULL);
  cr_assert_eq(chmod(dir, 0755), 0); /* the child runs as www-data */
  snprintf(file, sizeof file, "%s/blob", dir);
  snprintf(cmd, sizeof cmd, "head -c 100000 /dev/urandom > %s", file);
  cr_assert_eq(system(cmd), 0);
  int port = gp_free_port();
  snprintf(port_s, sizeof port_s, "%d", port);
  apache_conf(dir, port, mpm);
  snprintf(conf, sizeof conf, "%s/httpd.conf", dir);
  struct gp_proc srv;
  struct gp_run r, stopped;
  cr_assert_eq(gp_start(&srv, 1, NULL, "/usr/sbin/apache2",
                        GP_ARGV("-f", conf, "-DFOREGROUND")), 0);
  listening(&srv, port, 20, "apache2");
  snprintf(url, sizeof url, "http://127.0.0.1:%d/blob", port);
  gp_run_ok(&r, 0, NULL, 120, "/usr/bin/ab",
            GP_ARGV("-q", "-s", "30", "-n", "5000", "-c", "100", url));
  cr_expect_neq(strstr(r.out, "Complete requests:      5000"), NULL, "%s",
                r.out);
  cr_expect_neq(strstr(r.out, "Failed requests:        0"), NULL, "%s",
                r.out);
  gp_run_free(&r);
  snprintf(script, sizeof script, "%s/tests/progs/http_get.py",
           gp_src() ? gp_src() : ".");
  gp_run_ok(&r, 0, NULL, 120, "/usr/bin/python3",
            GP_ARGV(script, port_s, file));
  cr_expect_neq(strstr(r.out, "downloads=200 ok=200"), NULL, "%s %s", r.out,
                r.err);
  gp_run_free(&r);
  pid_t child = apache_child(srv.pid);
  long threads = child > 0 ? threads_of(child) : -1;
  gp_stop(&srv, SIGTERM, 20, &stopped);
  cr_expect_eq(threads, 1, "apache2's child ran on %ld OS threads", threads);
  cr_expect(!stopped.timed_out, "apache2 did not stop on SIGTERM");
  gp_expect_exit(&stopped, 0);
  gp_run_free(&stopped);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  system(cmd);
}

Test(daemons, apache2_worker_mpm_ab_and_200_downloads) {
  apache_with("worker");
}

Test(daemons, apache2_event_mpm_ab_and_200_downloads) {
  apache_with("event");
}

/* squid 5 with an aufs cache_dir (its disk I/O threads become coroutines)
 * between 200 concurrent downloads and a Python origin server: every
 * body checked by SHA-256, the object stored on disk by the disk
 * threads, squid on one OS thread, stopped by SIGTERM. Before the
 * errno and time-slice fixes of this round, the first new objects
 * aborted it. */
Test(daemons, squid_aufs_cache_200_downloads) {
  need("/usr/sbin/squid");
  need("/usr/bin/python3");
  char dir[] = "/tmp/gpatch-squid.XXXXXX", path[160], cmd[512], conf[96],
       port_s[16], origin_s[16], proxy[64], script[4096], url_file[160];
  cr_assert_neq(mkdtemp(dir), NULL);
  cr_assert_eq(chmod(dir, 0755), 0); /* squid runs as proxy */
  snprintf(cmd, sizeof cmd, "mkdir -p %s/www %s/cache && head -c 262144 "
           "/dev/urandom > %s/www/blob && { id proxy >/dev/null 2>&1 && "
           "chown proxy %s/cache || true; }", dir, dir, dir, dir);
  cr_assert_eq(system(cmd), 0);
  int port = gp_free_port(), origin = gp_free_port();
  snprintf(port_s, sizeof port_s, "%d", port);
  snprintf(origin_s, sizeof origin_s, "%d", origin);
  snprintf(conf, sizeof conf, "%s/squid.conf", dir);
  FILE *f = fopen(conf, "w");
  cr_assert(f != NULL);
  fprintf(f, "http_port 127.0.0.1:%d\nhttp_access allow all\n"
          "cache_dir aufs %s/cache 100 16 256\ncache_mem 1 MB\n"
          "maximum_object_size_in_memory 8 KB\nmaximum_object_size 1 MB\n"
          "pid_filename %s/squid.pid\ncache_log %s/cache.log\n"
          "access_log none\ncache_store_log none\ncoredump_dir %s\n"
          "cache_effective_user proxy\nshutdown_lifetime 1 seconds\n"
          "refresh_pattern . 60 100%% 600 override-expire\n",
          port, dir, dir, dir, dir);
  fclose(f);
  struct gp_run r, stopped, ostopped;
  gp_run_ok(&r, 0, NULL, 60, "/usr/sbin/squid", GP_ARGV("-f", conf, "-z",
                                                        "-N"));
  gp_run_free(&r);
  struct gp_proc srv, org;
  snprintf(path, sizeof path, "%s/www", dir);
  cr_assert_eq(gp_start(&org, 0, NULL, "/usr/bin/python3",
                        GP_ARGV("-m", "http.server", origin_s, "--bind",
                                "127.0.0.1", "--directory", path)), 0);
  listening(&org, origin, 20, "origin");
  cr_assert_eq(gp_start(&srv, 1, NULL, "/usr/sbin/squid",
                        GP_ARGV("-f", conf, "-N")), 0);
  listening(&srv, port, 30, "squid");
  /* http_get.py fetches http://127.0.0.1:ORIGIN/blob; urllib takes the
   * proxy from http_proxy, so every download goes through squid. */
  snprintf(script, sizeof script, "%s/tests/progs/http_get.py",
           gp_src() ? gp_src() : ".");
  snprintf(proxy, sizeof proxy, "http_proxy=http://127.0.0.1:%d", port);
  snprintf(url_file, sizeof url_file, "%s/www/blob", dir);
  gp_run_ok(&r, 0, GP_ARGV(proxy), 120, "/usr/bin/python3",
            GP_ARGV(script, origin_s, url_file));
  cr_expect_neq(strstr(r.out, "downloads=200 ok=200"), NULL, "%s %s", r.out,
                r.err);
  gp_run_free(&r);
  long threads = threads_of(srv.pid);
  gp_stop(&srv, SIGTERM, 30, &stopped);
  gp_stop(&org, SIGTERM, 10, &ostopped);
  gp_run_free(&ostopped);
  cr_expect_eq(threads, 1, "squid ran on %ld OS threads", threads);
  cr_expect(!stopped.timed_out, "squid did not stop on SIGTERM");
  gp_expect_exit(&stopped, 0);
  gp_run_free(&stopped);
  /* The object went to disk through the aufs threads (swap files have
   * 8 hex digits as names). */
  snprintf(cmd, sizeof cmd, "find %s/cache -type f -name '0000*' | grep -q .",
           dir);
  cr_expect_eq(system(cmd), 0, "squid stored nothing in its aufs cache");
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  system(cmd);
}
