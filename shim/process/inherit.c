/* inherit.c: GPATCH_INHERIT=0 keeps programs the process executes from
 * being preloaded.
 *
 * The constructor removes libgpatch.so from LD_PRELOAD in the process's
 * own environment, keeping every other entry (LD_PRELOAD unset when none
 * is left). The loader has read LD_PRELOAD already, so this process stays
 * patched, and every way of starting a program that passes environ on
 * (execv, execvp, execl, system, popen, posix_spawn, a shell) gives the
 * child the cleaned value. A program that builds its own environment
 * from a copy made before main, or getenv("LD_PRELOAD") itself, sees the
 * cleaned value too. An entry is the library when it names the same file
 * (device and inode), or, when it cannot be examined, when its base name
 * is libgpatch.so.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gp.h"
#include "process/proc.h"

/* 1 when the LD_PRELOAD entry (len bytes at s) names this library. */
static int is_self(const char *s, size_t len, const struct stat *self) {
  char path[4096];
  if (len == 0 || len >= sizeof path)
    return 0;
  memcpy(path, s, len);
  path[len] = '\0';
  struct stat st;
  if (self && stat(path, &st) == 0)
    return st.st_dev == self->st_dev && st.st_ino == self->st_ino;
  const char *base = strrchr(path, '/');
  return strcmp(base ? base + 1 : path, "libgpatch.so") == 0;
}

void gp_inherit_strip(void) {
  const char *v = getenv("LD_PRELOAD");
  if (v == NULL)
    return;
  Dl_info info;
  struct stat self_st, *self = NULL;
  if (dladdr((void *)gp_inherit_strip, &info) && info.dli_fname &&
      stat(info.dli_fname, &self_st) == 0)
    self = &self_st;
  char *out = malloc(strlen(v) + 1);
  if (out == NULL)
    return;
  size_t n = 0;
  /* The loader splits LD_PRELOAD at spaces and colons. */
  for (const char *p = v; *p;) {
    size_t len = strcspn(p, " :");
    if (len > 0 && !is_self(p, len, self)) {
      if (n > 0)
        out[n++] = ' ';
      memcpy(out + n, p, len);
      n += len;
    }
    p += len;
    p += strspn(p, " :");
  }
  out[n] = '\0';
  if (n == 0)
    unsetenv("LD_PRELOAD");
  else
    setenv("LD_PRELOAD", out, 1);
  free(out);
}
