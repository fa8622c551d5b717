/* fuzz_config: libFuzzer harness for the GPATCH_* value parsers
 * (shim/core/config.c). Each input, cut at its first NUL, goes to every
 * parser; a parser must either refuse it or give a value inside its
 * documented range, never read past the string or write past its error
 * buffer (ASan and UBSan watch), and give the same answer twice.
 *
 *   make fuzz-config [FUZZ_SECONDS=60]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "gp.h"

static void check(int cond) {
  if (!cond)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1); /* exactly sized: ASan sees an overread */
  if (s == NULL)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';

  unsigned fam = 0, fam2 = 0;
  char err[64], err2[64];
  memset(err, 'x', sizeof err);
  int r = gp_parse_patch(s, &fam, err, sizeof err);
  check(gp_parse_patch(s, &fam2, err2, sizeof err2) == r);
  if (r == 0)
    check(fam == fam2 && (fam & ~(unsigned)(GP_FAM_ALL | GP_FAM_FILE)) == 0);
  else
    check(memchr(err, '\0', sizeof err) != NULL); /* a terminated message */

  size_t sz = 0;
  if (gp_parse_size(s, &sz) == 0)
    check(strlen(s) > 0);

  long v = 0;
  if (gp_parse_count(s, 2, 64, &v) == 0)
    check(v >= 2 && v <= 64);
  if (gp_parse_count(s, 0, 1024, &v) == 0)
    check(v >= 0 && v <= 1024);
  if (gp_parse_slice(s, &v) == 0)
    check(v >= 0 && v <= GP_SLICE_MAX_MS);

  int level = -1;
  if (gp_parse_level(s, &level) == 0)
    check(level >= GP_LOG_ERROR && level <= GP_LOG_ERROR + 3);
  free(s);
  return 0;
}
