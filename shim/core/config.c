/* config.c: parsing of GPATCH_PATCH, sizes, counts and log levels. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "gp.h"

struct gp_config gp_conf = {GP_FAM_ALL, 256 * 1024, 0, 0,
                             GP_SLICE_DEFAULT_MS};

static const char *const names[] = {"thread", "sync", "sleep", "socket",
                                    "poll", "dns", "file"};
#define NNAMES (sizeof names / sizeof names[0])

const char *gp_family_name(unsigned bit) {
  for (size_t i = 0; i < NNAMES; i++)
    if (bit == 1u << i)
      return names[i];
  return NULL;
}

static unsigned lookup(const char *s, size_t len) {
  if (len == 3 && strncmp(s, "all", 3) == 0)
    return GP_FAM_ALL;
  for (size_t i = 0; i < NNAMES; i++)
    if (strlen(names[i]) == len && strncmp(s, names[i], len) == 0)
      return 1u << i;
  return 0;
}

/* Grammar: item {"," item}; item = ["-"] name; name = "all" | a family.
 * The set starts empty, or all when the first item is a removal. "all"
 * is every family but file, which only its own name turns on. */
int gp_parse_patch(const char *s, unsigned *families, char *err,
                    size_t errlen) {
  unsigned set = (s[0] == '-') ? GP_FAM_ALL : 0;
  const char *known = "all, thread, sync, sleep, socket, poll, dns, file (not in all)";
  if (s[0] == '\0') {
    snprintf(err, errlen, "GPATCH_PATCH is empty (known: %s)", known);
    return -1;
  }
  for (const char *p = s;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    int remove = len > 0 && p[0] == '-';
    unsigned bits = lookup(p + remove, len - (size_t)remove);
    if (bits == 0) {
      snprintf(err, errlen, "GPATCH_PATCH: unknown family '%.*s' in '%s' "
               "(known: %s; '-name' removes one)", (int)len, p, s, known);
      return -1;
    }
    set = remove ? (set & ~bits) : (set | bits);
    if (end == NULL)
      break;
    p = end + 1;
  }
  if ((set & GP_FAM_THREAD) && !(set & GP_FAM_SYNC)) {
    snprintf(err, errlen, "GPATCH_PATCH='%s': 'sync' cannot be off while "
             "'thread' is on (a real lock would block every coroutine)", s);
    return -1;
  }
  *families = set;
  return 0;
}

int gp_parse_size(const char *s, size_t *out) {
  char *end;
  errno = 0;
  if (s[0] < '0' || s[0] > '9')
    return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno)
    return -1;
  unsigned shift = 0;
  if (*end == 'k' || *end == 'K')
    shift = 10;
  else if (*end == 'm' || *end == 'M')
    shift = 20;
  else if (*end == 'g' || *end == 'G')
    shift = 30;
  if (shift)
    end++;
  if (*end != '\0' || v > (SIZE_MAX >> shift))
    return -1;
  *out = (size_t)(v << shift);
  return 0;
}

int gp_parse_count(const char *s, long min, long max, long *out) {
  if (s[0] < '0' || s[0] > '9' || strlen(s) > 12)
    return -1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

int gp_parse_slice(const char *s, long *ms) {
  if (strcmp(s, "off") == 0) {
    *ms = 0;
    return 0;
  }
  return gp_parse_count(s, 0, GP_SLICE_MAX_MS, ms);
}

int gp_parse_level(const char *s, int *out) {
  static const char *const levels[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (strcasecmp(s, levels[i]) == 0) {
      *out = GP_LOG_ERROR + i;
      return 0;
    }
  return -1;
}
