/* real.c: resolves the real libc symbols of real.h in one pass. */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "gp.h"
#include "real.h"

struct gp_real gp__real;

/* Writes a message without any libc symbol we might hook. */
static void raw_die(const char *what, const char *name) {
  const char *parts[] = {"gpatch: ", what, " ", name, "\n"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    syscall(SYS_write, 2, parts[i], strlen(parts[i]));
  _exit(127);
}

static void *resolve(const char *name) {
  const char *ver = GP_REAL_VERSIONED(name);
  void *p = ver ? dlvsym(RTLD_NEXT, name, ver) : NULL;
  if (p == NULL)
    p = dlsym(RTLD_NEXT, name);
  if (p == NULL)
    raw_die("cannot resolve the real", name);
  /* RTLD_NEXT from this object must never find this object's own hook. */
  Dl_info self, found;
  if (dladdr((void *)gp__real_init, &self) && dladdr(p, &found) &&
      self.dli_fbase == found.dli_fbase)
    raw_die("real symbol resolves to our own hook:", name);
  return p;
}

void gp__real_init(void) {
  static int started;
  if (__atomic_exchange_n(&started, 1, __ATOMIC_ACQ_REL)) {
    /* Another caller is resolving (or has): resolve what we need here so
     * that a hook re-entered during dlsym still finds its real symbol. */
#define GP_REAL_ONE(ret, name, params)                                      \
    if (gp__real.name == NULL)                                              \
      __atomic_store_n((void **)&gp__real.name, resolve(#name),              \
                       __ATOMIC_RELEASE);
    GP_REAL_LIST(GP_REAL_ONE)
    return;
  }
  GP_REAL_LIST(GP_REAL_ONE)
#undef GP_REAL_ONE
}
