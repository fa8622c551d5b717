/* stdio streams made with fdopen over a socket and a pipe: fgets,
 * getline, fread to EOF, fprintf/fflush and fclose behave as natively
 * while only the reading thread waits (a ticker goes on). */
#include <criterion/criterion.h>

#include "harness.h"

Test(stdio, fdopen_streams_over_sockets_and_pipes) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "stdio_sock", NULL, 0, NULL);
  GP_EXPECT_VAL(&n, "getline_ok", ==, 1);
  if (pre) {
    const char *keys[] = {"fileno_ok", "fgets_ok", "getline_ok",
                          "fread_eof_ok", "ticked", "in_order", "closed"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
      GP_EXPECT_VAL(&p, keys[i], ==, 1);
    GP_EXPECT_VAL(&p, "pipe_lines", ==, 1000);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}
