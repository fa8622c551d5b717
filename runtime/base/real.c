/* real.c: resolves the real libc symbols of real.h in one pass. */
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "gp.h"
#include "real.h"

struct gp_real gp__real;

/* Writes a message without any libc symbol we might hook: not even
 * syscall, which we export too (and whose hook needs this table), but
 * libc's own, looked up on the spot. */
static void raw_die(const char *what, const char *name) {
  const char *parts[] = {"gpatch: ", what, " ", name, "\n"};
  long (*sc)(long, ...) = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  for (size_t i = 0; sc && i < sizeof parts / sizeof parts[0]; i++)
    sc(SYS_write, 2, parts[i], strlen(parts[i]));
  _exit(127);
}

/* This object's mapped range, found once: a resolved symbol inside it
 * would be our own hook (RTLD_NEXT gone wrong). */
static uintptr_t self_lo, self_hi;

static int find_self(struct dl_phdr_info *info, size_t size, void *base) {
  (void)size;
  if ((void *)info->dlpi_addr != base)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD)
      continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    uintptr_t hi = lo + ph->p_memsz;
    if (self_lo == 0 || lo < self_lo)
      self_lo = lo;
    if (hi > self_hi)
      self_hi = hi;
  }
  return 1;
}

static int in_self(void *p) {
  if (self_hi == 0) {
    Dl_info self;
    if (!dladdr((void *)gp__real_init, &self))
      return 0;
    dl_iterate_phdr(find_self, self.dli_fbase);
  }
  return (uintptr_t)p >= self_lo && (uintptr_t)p < self_hi;
}

static void *resolve(const char *name) {
  const char *ver = GP_REAL_VERSIONED(name);
  void *p = ver ? dlvsym(RTLD_NEXT, name, ver) : NULL;
  if (p == NULL)
    p = dlsym(RTLD_NEXT, name);
  if (p == NULL)
    raw_die("cannot resolve the real", name);
  /* RTLD_NEXT from this object must never find this object's own hook. */
  if (in_self(p))
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
  /* The check below is worth nothing if our own range were not found. */
  if (!in_self((void *)gp__real_init))
    raw_die("cannot find its own mapping:", "dl_iterate_phdr");
  GP_REAL_LIST(GP_REAL_ONE)
#undef GP_REAL_ONE
}
