/* sendfile into a socket that fills up parks the sender until the reader
 * takes the bytes (or SO_SNDTIMEO passes), with sendfile's own results,
 * offset and file position; pread, pwrite, preadv and pwritev on a pipe
 * or a socket fail with ESPIPE, as natively.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

#include "harness.h"

static void check(const struct gp_run *r) {
  char tok[32];

  GP_EXPECT_VAL(r, "pos_sent", ==, 4 << 20);
  GP_EXPECT_VAL(r, "pos_intact", ==, 1);
  GP_EXPECT_VAL(r, "pos_after", ==, 4 << 20);
  GP_EXPECT_VAL(r, "off_sent", ==, 1 << 20);
  GP_EXPECT_VAL(r, "off_intact", ==, 1);
  GP_EXPECT_VAL(r, "off_after", ==, 3 << 20);
  GP_EXPECT_VAL(r, "pos_kept", ==, 0);
  GP_EXPECT_VAL(r, "end_sent", ==, 1000);
  GP_EXPECT_VAL(r, "ticked", ==, 1);
  GP_EXPECT_VAL(r, "part", ==, 1);
  GP_EXPECT_VAL(r, "part_off", ==, 1);
  snprintf(tok, sizeof tok, "pread_pipe=-1/%d", ESPIPE);
  gp_expect_token(r, tok);
  snprintf(tok, sizeof tok, "pwritev_sock=-1/%d", ESPIPE);
  gp_expect_token(r, tok);
}

Test(sendfile, into_a_full_socket_parks_until_read) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "sendfile_io", NULL, 4, NULL))
    check(&p);
  check(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}
