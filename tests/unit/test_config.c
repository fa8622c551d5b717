/* Unit tests of GPATCH_* parsing. */
#include <criterion/criterion.h>

#include <string.h>

#include "core/config.h"

static unsigned parse_ok(const char *s) {
  unsigned f = 0;
  char err[256];
  cr_assert_eq(gp_parse_patch(s, &f, err, sizeof err), 0, "%s: %s", s, err);
  return f;
}

static void parse_bad(const char *s, const char *needle) {
  unsigned f = 12345;
  char err[256] = "";
  cr_assert_eq(gp_parse_patch(s, &f, err, sizeof err), -1, "%s", s);
  cr_assert_eq(f, 12345u, "a failed parse must not change the set");
  cr_assert_not_null(strstr(err, needle), "'%s' lacks '%s'", err, needle);
}

Test(config, patch_lists) {
  cr_assert_eq(parse_ok("all"), (unsigned)GP_FAM_ALL);
  cr_assert_eq(parse_ok("socket,sleep"), (unsigned)(GP_FAM_SOCKET | GP_FAM_SLEEP));
  cr_assert_eq(parse_ok("all,-thread"), (unsigned)(GP_FAM_ALL & ~GP_FAM_THREAD));
  cr_assert_eq(parse_ok("-thread,-sync"),
               (unsigned)(GP_FAM_ALL & ~(GP_FAM_THREAD | GP_FAM_SYNC)));
  cr_assert_eq(parse_ok("thread,sync"), (unsigned)(GP_FAM_THREAD | GP_FAM_SYNC));
  cr_assert_eq(parse_ok("dns"), (unsigned)GP_FAM_DNS);
  cr_assert_eq(parse_ok("-dns"), (unsigned)(GP_FAM_ALL & ~GP_FAM_DNS));
  cr_assert(GP_FAM_ALL & GP_FAM_DNS, "dns is part of all");
  cr_assert_str_eq(gp_family_name(GP_FAM_DNS), "dns");
  cr_assert_eq(parse_ok("all,file"), (unsigned)(GP_FAM_ALL | GP_FAM_FILE));
  cr_assert_eq(parse_ok("-thread,-sync,file"),
               (unsigned)((GP_FAM_ALL & ~(GP_FAM_THREAD | GP_FAM_SYNC)) |
                          GP_FAM_FILE));
  cr_assert(!(GP_FAM_ALL & GP_FAM_FILE), "file is not part of all");
  cr_assert_eq(parse_ok("all,file,-all"), (unsigned)GP_FAM_FILE);
  cr_assert_str_eq(gp_family_name(GP_FAM_FILE), "file");
}

Test(config, patch_errors) {
  parse_bad("bogus", "unknown family 'bogus'");
  parse_bad("all,,sleep", "unknown family ''");
  parse_bad("", "empty");
  parse_bad("all,-sync", "'sync' cannot be off");
  parse_bad("thread", "'sync' cannot be off");
  parse_bad("Sleep", "known: all, thread, sync, sleep, socket, poll, dns, "
                     "file (not in all)");
  parse_bad("DNS", "unknown family 'DNS'");
}

Test(config, sizes) {
  size_t n;
  cr_assert_eq(gp_parse_size("65536", &n), 0);
  cr_assert_eq(n, 65536u);
  cr_assert_eq(gp_parse_size("64K", &n), 0);
  cr_assert_eq(n, 65536u);
  cr_assert_eq(gp_parse_size("2m", &n), 0);
  cr_assert_eq(n, 2u << 20);
  cr_assert_eq(gp_parse_size("1G", &n), 0);
  cr_assert_eq(n, 1u << 30);
  cr_assert_eq(gp_parse_size("", &n), -1);
  cr_assert_eq(gp_parse_size("12Q", &n), -1);
  cr_assert_eq(gp_parse_size("-5", &n), -1);
  cr_assert_eq(gp_parse_size("64KB", &n), -1);
  cr_assert_eq(gp_parse_size("99999999999999999999", &n), -1);
}

Test(config, slices) {
  long ms = -1;
  cr_assert_eq(gp_parse_slice("5", &ms), 0);
  cr_assert_eq(ms, 5);
  cr_assert_eq(gp_parse_slice("off", &ms), 0);
  cr_assert_eq(ms, 0);
  cr_assert_eq(gp_parse_slice("0", &ms), 0);
  cr_assert_eq(ms, 0);
  cr_assert_eq(gp_parse_slice("10000", &ms), 0);
  cr_assert_eq(ms, 10000);
  cr_assert_eq(gp_parse_slice("10001", &ms), -1);
  cr_assert_eq(gp_parse_slice("", &ms), -1);
  cr_assert_eq(gp_parse_slice("-1", &ms), -1);
  cr_assert_eq(gp_parse_slice("5ms", &ms), -1);
  cr_assert_eq(gp_parse_slice("OFF", &ms), -1);
}
