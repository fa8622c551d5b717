/* The short form of `make soak`: scripts/soak.sh runs each server under
 * the shim for 10 s after 3 s of warm-up with the full load (redis-server
 * under redis-benchmark -c 1000 and a checking client, memcached under
 * 1,000 checking connections, echo_server with 5,000 connections held and
 * 200 a second churned), and every run must pass: no error, every value
 * read back, fds and RSS flat (fds_end <= fds_start, rss_end <= 1.10 *
 * rss_start + 4 MiB), one OS thread.  A leak of a descriptor or of memory
 * per connection shows up here in CI; `make soak` runs the same for ten
 * minutes each.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

#include "harness.h"

static void soak(const char *server, const char *need) {
  char script[4096], port_kv[32];
  const char *src = gp_src();
  struct gp_run r;

  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  if (need != NULL && access(need, X_OK) != 0)
    cr_skip_test("%s is not installed (make deps installs it)", need);
  cr_assert(src != NULL, "cannot find the source tree");
  snprintf(script, sizeof script, "%s/scripts/soak.sh", src);
  snprintf(port_kv, sizeof port_kv, "SOAK_PORT=%d", gp_free_port());
  gp_run_ok(&r, 0, GP_ARGV("SOAK_SECONDS=10", "SOAK_WARMUP=3", port_kv),
            300, "/bin/sh", GP_ARGV(script, gp_build(), server));
  GP_EXPECT_VAL(&r, "errors", ==, 0);
  GP_EXPECT_VAL(&r, "requests", >, 0);
  GP_EXPECT_VAL(&r, "peak_threads", ==, 1);
  long f0 = gp_val(&r, "fds_start"), f1 = gp_val(&r, "fds_end");
  long m0 = gp_val(&r, "rss_start_kb"), m1 = gp_val(&r, "rss_end_kb");
  cr_expect(f1 <= f0, "fds grew from %ld to %ld; %s", f0, f1,
            gp_describe(&r));
  cr_expect(m1 <= m0 * 110 / 100 + 4096, "RSS grew from %ld to %ld KiB; %s",
            m0, m1, gp_describe(&r));
  GP_EXPECT_VAL(&r, "pass", ==, 1);
  gp_run_free(&r);
}

Test(soak, redis_benchmark_1000_connections_short) {
  if (access("/usr/bin/redis-benchmark", X_OK) != 0)
    cr_skip_test("redis-benchmark is not installed (make deps installs it)");
  soak("redis", "/usr/bin/redis-server");
}

Test(soak, memcached_1000_checking_connections_short) {
  soak("memcached", "/usr/bin/memcached");
}

Test(soak, echo_5000_held_200_churned_a_second_short) {
  soak("echo", NULL);
}
