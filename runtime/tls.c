/* tls.c: private thread-local storage per coroutine (the default;
 * GPATCH_TLS=shared turns it off).
 *
 * Each coroutine gets a thread control block and a static TLS block of its
 * own, allocated as glibc allocates them for its threads
 * (_dl_allocate_tls, GLIBC_PRIVATE in ld.so), so that errno, __thread,
 * C++ thread_local and exception state, uselocale and the stdio lock
 * owner are per coroutine. The switch moves the thread pointer with the
 * coroutine (gp__ctx_set_tp); the main coroutine runs on the OS thread's
 * own block ("main TCB"), and the hub on the block it finds (sched.c's
 * tls_switch) or its own (gp__hub_tp).
 *
 *   a coroutine's block, from _dl_allocate_tls (x86-64, TLS variant II):
 *
 *     [ static TLS of every initial-exec module | struct pthread ]
 *                                                ^ tp = fs base
 *     tp+0x00 tcb (self)      tp+0x08 dtv       tp+0x10 self
 *     tp+0x18 multiple_threads                  tp+0x28 stack guard
 *     tp+0x30 pointer guard   tp+0x48 feature_1
 *     then glibc's struct pthread: list, tid, robust_head,
 *     specific_1stblock, specific[], user_stack, ... (offsets below)
 *
 * glibc's struct pthread is private: the offsets come from libc's
 * libthread_db descriptors (_thread_db_pthread_*) and from the layout of
 * glibc 2.36, and every one is checked against the live main TCB at the
 * start. Anything unexpected (another glibc, another machine, a failed
 * check) gives one warning and the shared mode (every coroutine on the
 * OS thread's block), which needs none of this.
 *
 * Life of a block: made at spawn (gp__tls_new), fixed up for the fields
 * glibc's pthread_create would set; __ctype_init runs in the coroutine
 * before the program's function (gp__tls_begin); at its end the C++
 * thread_local destructors run in it (gp__tls_run_dtors, first of the
 * exit functions); once the coroutine is off its stack the scheduler
 * keeps the block for the next spawn (gp__tls_free, with the stack).
 *
 * Reuse: glibc's malloc gives every thread a cache (tcache, 640 B and up
 * to 7 free chunks per size class, and an arena to attach to) on its
 * first malloc, and frees it only in its own thread-exit code
 * (__libc_thread_freeres), which nothing exported reaches. So the cache
 * is emptied here when a coroutine's block is freed (release_libc: its
 * chunks freed, then the cache, found by its address in libc's static
 * TLS at the start), with the buffers strerror and strsignal keep in
 * struct pthread; and a block is reused as glibc reuses a cached thread
 * stack (nptl/allocatestack.c): its DTV cleared (dynamic TLS freed),
 * every module's image copied in again (_dl_allocate_tls_init), except
 * that libc's own module keeps what it had (its arena binding among
 * them). What else libc keeps there is made fresh in gp__tls_begin:
 * errno, h_errno, the locale (and the ctype tables), a pending dlerror;
 * the thread_local destructor list is empty after gp__tls_run_dtors.
 *
 * What else a thread has in glibc, and where it comes from here:
 * - _res: glibc's start_thread points the thread's __resp at the res
 *   field of its descriptor; gp__tls_new does the same (the image says
 *   the global _res), and the coroutine's end closes what res_init
 *   opened, as __res_thread_freeres does.
 * - stackblock, stackblock_size, guardsize: the coroutine's stack
 *   mapping (glibc's alloca cutoff and longjmp read them).
 * - The thread lists: every block is in glibc's list of threads with
 *   user stacks (GL(dl_stack_user), under its lock) from gp__tls_new to
 *   gp__tls_free, so that a dlopen on any thread (glibc's own, for NSS
 *   or iconv, too) copies the initial-exec TLS of the modules it loads
 *   into every coroutine before their constructors run, as it does for
 *   its threads (_dl_init_static_tls). The other walkers of that list
 *   must not take a block for a thread of its own: each block is marked
 *   exiting (cancelhandling), which __nptl_setxid (setuid and friends)
 *   passes over, and gp__tls_xid_begin hides the OS thread's own TCB
 *   from a setuid called by a coroutine (shim/process/setxid.c). gdb's
 *   libthread_db lists the blocks as threads of one LWP.
 * - The tid field stays the OS thread's real tid, in every block. The
 *   program sees a tid per coroutine (shim/thread/tid.c answers gettid),
 *   but glibc's own readers of the field need one the kernel knows: the
 *   owner word of robust and priority-inheritance mutexes (the kernel
 *   reads it as a tid, and FUTEX_TID_MASK stops at bit 29), the owner
 *   checks of error-checking and recursive mutexes (the shim's sync
 *   family owns the program's mutexes and tells coroutines apart
 *   itself), pthread_getcpuclockid, and fork's child (set_tid_address
 *   writes the new real tid there). raise() takes the tid from the
 *   kernel (gettid) for the calling thread, so it signals the OS thread
 *   with the raising coroutine current, as a thread's raise would.
 *
 * - setuid and friends: glibc signals each OS thread by a TCB it lists
 *   with that tid and waits until the TCB's flag is cleared, which its
 *   handler does for the block installed when it runs. On the shim's OS
 *   threads that may be another block (a coroutine's, the hub's), so the
 *   handler is relayed (setxid_relay) to run on the block glibc marked;
 *   gp__tls_xid_begin keeps one live TCB listed for every OS thread but
 *   the caller's (the first thread's, when main calls from another).
 *
 * Not covered yet: a
 * coroutine parked in a signal handler that interrupted a lazy symbol
 * binding holds its block's scope flag, and a dlclose in another
 * coroutine waits for it for ever. A signal that arrives between the
 * write of the thread pointer and the stack switch runs its handler on
 * the next context's block: harmless while no handler switches
 * coroutines (none does).
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <locale.h>
#include <netdb.h>
#include <resolv.h>
#include <signal.h>
#undef p_type /* resolv.h's name for __p_type, a field of ElfW(Phdr) here */
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#if defined(__x86_64__) && defined(__GLIBC__)
#include <gnu/libc-version.h>
#define TLS_ARCH 1
#else
#define TLS_ARCH 0
#endif

#include "coro.h"
#include "real.h"

int gp__tls_private;   /* the mode in effect (fixed at the start) */
void *gp__tls_main_tp; /* the OS thread's own block: hub, main coroutine */
static int wanted;     /* GPATCH_TLS=private was asked for */

void gp__tls_select(int private_tls) { wanted = private_tls; }
int gp__tls_is_private(void) { return gp__tls_private; }
int gp__tls_asked(void) { return wanted; }

#if TLS_ARCH

/* tcbhead_t (de-facto ABI: gcc hard-codes %fs:0x28). */
#define TCB_SELF0 0x00
#define TCB_SELF 0x10
#define TCB_MULTIPLE_THREADS 0x18
#define TCB_SYSINFO 0x20
#define TCB_STACK_GUARD 0x28
#define TCB_POINTER_GUARD 0x30
#define TCB_FEATURE_1 0x48
#define RSEQ_CPU_ID_REGISTRATION_FAILED ((uint32_t)-2)

static char *block_new(void);
static char *first_block; /* the hub's first block: the first host's home */

/* glibc's private entry points, resolved at the start. */
static struct {
  void *(*allocate)(void *mem);
  void *(*init)(void *tcb, bool init_tls);
  void (*deallocate)(void *tcb, bool dealloc_tcb);
  void (*ctype_init)(void);
  void (*call_tls_dtors)(void);
  const ptrdiff_t *rseq_offset; /* public since 2.35 */
  const unsigned *rseq_size;
} g;

/* Offsets in struct pthread, from the thread pointer. */
static struct {
  size_t list, tid, robust, spec1, spec, user_stack, size, cancel;
  size_t stackblock; /* stackblock, stackblock_size, guardsize, reported */
  size_t res;        /* struct __res_state res, the thread's _res */
  size_t tls_state;  /* strsignal's and strerror's buffers (0: unknown) */
} off;
static ptrdiff_t resp_off;   /* libc's __resp (the _res in use), from tp */
static ptrdiff_t gp_tls_off; /* our own gp__tls, from the thread pointer */
static ptrdiff_t libc_off;   /* libc's static TLS block, from it */
static size_t libc_size;     /* its size (0: unknown, blocks not reused) */
static ptrdiff_t tcache_off; /* malloc's tcache pointer (0: unknown) */

/* Blocks of ended coroutines, kept for the next spawns. */
#define POOL_MAX 4096
static void *pool[POOL_MAX];
static size_t npool;

/* A libthread_db field descriptor: {bits, count, offset}. */
static const uint32_t *desc(const char *name) {
  return dlvsym(RTLD_DEFAULT, name, "GLIBC_PRIVATE");
}

#define AT(tp, o, type) (*(type *)((char *)(tp) + (o)))

/* The fields after the debugger's: glibc 2.36 has, after nextevent, an
 * _Unwind_Exception (32 bytes, 16-aligned), then stackblock,
 * stackblock_size, guardsize, reported_guardsize, tpp, then res; then
 * sigmask (8), c11 and exiting, exit_lock, tls_state (16), then the rseq
 * area, 32-aligned, whose offset libc exports. glibc sets the main
 * thread's stackblock_size to __libc_stack_end (dl-tls_init_tp.c), and
 * the main thread's res is unused (its __resp is the global _res).
 * Returns NULL, or what did not match. */
static const char *layout_tail(char *m) {
  extern void *__libc_stack_end;
  const uint32_t *d_next = desc("_thread_db_pthread_nextevent");
  if (!d_next || d_next[0] != 64)
    return "libthread_db nextevent descriptor";
  off.stackblock = ((d_next[2] + 8 + 15) & ~(size_t)15) + 32;
  off.res = off.stackblock + 5 * 8;
  size_t end = off.res + sizeof(struct __res_state) + 8 + 8 + 16;
  if (((end + 31) & ~(size_t)31) != (size_t)*g.rseq_offset)
    return "struct pthread offsets before rseq";
  if (AT(m, off.stackblock + 8, void *) != __libc_stack_end)
    return "stackblock_size";
  for (size_t i = 0; i < sizeof(struct __res_state); i++)
    if (m[off.res + i] != 0)
      return "res";
  char *resp = dlvsym(RTLD_DEFAULT, "__resp", "GLIBC_PRIVATE");
  if (resp == NULL || resp >= m || AT(resp, 0, void *) != __res_state())
    return "__resp";
  resp_off = resp - m;
  off.tls_state = off.res + sizeof(struct __res_state) + 8 + 8;
  return NULL;
}

/* glibc's list of threads whose stack the program gave
 * (GL(dl_stack_user), where the main thread is) and the lock of the
 * thread lists (GL(dl_stack_cache_lock)), in ld.so's _rtld_global. */
struct link {
  struct link *next, *prev;
};
static struct link *stack_user;
static int *stack_lock;
#define EXITING_BITMASK 0x10 /* cancelhandling: the thread is exiting */
#define SETXID_BITMASK 0x40  /* cancelhandling: a setxid call waits for it */

/* Finds the list and its lock (ldsodefs.h of 2.36: _dl_stack_used,
 * _dl_stack_user, _dl_stack_cache, _dl_stack_cache_actsize,
 * _dl_in_flight_stack, _dl_stack_cache_lock) and checks that the main
 * TCB m is in the list. Returns NULL, or what did not match. */
static const char *find_list(char *m) {
  char *rg = dlvsym(RTLD_DEFAULT, "_rtld_global", "GLIBC_PRIVATE");
  const uint32_t *d_used = desc("_thread_db_rtld_global__dl_stack_used");
  const uint32_t *d_user = desc("_thread_db_rtld_global__dl_stack_user");
  if (!rg || !d_used || !d_user || d_user[0] != 128 ||
      d_user[2] != d_used[2] + 16)
    return "glibc's thread lists";
  stack_user = (struct link *)(rg + d_user[2]);
  stack_lock = (int *)(rg + d_user[2] + 16 + 16 + 8 + 8);
  struct link *l = stack_user->next;
  for (int n = 0; l != stack_user && n < 1000; n++, l = l->next)
    if (l == (struct link *)(m + off.list))
      return (unsigned)*stack_lock <= 2 ? NULL : "the thread lists' lock";
  return "the main thread in glibc's thread list";
}

/* glibc's lll_lock and lll_unlock (private futex: 0 free, 1 taken, 2
 * taken with waiters), on the real syscall. */
static void list_lock(void) {
  int free = 0;
  if (__atomic_compare_exchange_n(stack_lock, &free, 1, false,
                                  __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return;
  while (__atomic_exchange_n(stack_lock, 2, __ATOMIC_ACQUIRE) != 0)
    GP_REAL(syscall)(SYS_futex, stack_lock, FUTEX_WAIT_PRIVATE, 2, NULL);
}

static void list_unlock(void) {
  if (__atomic_exchange_n(stack_lock, 0, __ATOMIC_RELEASE) == 2)
    GP_REAL(syscall)(SYS_futex, stack_lock, FUTEX_WAKE_PRIVATE, 1);
}

/* Puts block p in glibc's list, as pthread_create puts a thread whose
 * stack the program gave: every dlopen (on any thread, glibc's own for
 * NSS and iconv too) then copies the static TLS of a module it loads
 * into p, before the module's constructors run (_dl_init_static_tls).
 * p is marked as exiting, which makes setuid and friends (__nptl_setxid)
 * pass over it: they would signal its tid, the OS thread's, and wait for
 * a handler to answer in p's name, which none does. */
static void link_block(char *p) {
  struct link *n = (struct link *)(p + off.list);
  AT(p, off.cancel, int) |= EXITING_BITMASK;
  list_lock();
  n->next = stack_user->next;
  n->prev = stack_user;
  stack_user->next->prev = n;
  __atomic_store_n(&stack_user->next, n, __ATOMIC_RELEASE);
  list_unlock();
}

/* Takes block p out of the list. In a child forked after p was linked,
 * glibc made the list anew with the forking thread alone: p's links are
 * stale, and their neighbours (but other stale blocks) disagree. */
static void unlink_block(char *p) {
  struct link *n = (struct link *)(p + off.list);
  list_lock();
  if (n->next->prev == n && n->prev->next == n) {
    n->next->prev = n->prev;
    n->prev->next = n->next;
  }
  n->next = n->prev = n;
  list_unlock();
}

/* Reads the offsets and checks each against the main TCB m (whose tid is
 * tid). Returns NULL, or what did not match. */
static const char *layout(char *m, pid_t tid) {
  const uint32_t *d_tid = desc("_thread_db_pthread_tid");
  const uint32_t *d_list = desc("_thread_db_pthread_list");
  const uint32_t *d_spec = desc("_thread_db_pthread_specific");
  const uint32_t *d_cancel = desc("_thread_db_pthread_cancelhandling");
  const uint32_t *d_report = desc("_thread_db_pthread_report_events");
  const uint32_t *d_size = desc("_thread_db_sizeof_pthread");
  if (!d_tid || !d_list || !d_spec || !d_cancel || !d_report || !d_size)
    return "libthread_db descriptors missing";
  if (d_tid[0] != 32 || d_list[0] != 128 || d_cancel[0] != 32 ||
      d_report[0] != 8 || d_spec[0] != 32 * 64)
    return "libthread_db descriptors of another shape";
  off.size = *d_size;
  off.list = d_list[2];
  off.cancel = d_cancel[2];
  off.tid = d_tid[2];
  off.spec = d_spec[2];
  /* glibc 2.36: tid, pid, robust_prev, then robust_head; cancelhandling
   * and flags (two ints), then specific_1stblock; report_events, then
   * user_stack (bools). */
  off.robust = off.tid + 16;
  off.spec1 = d_cancel[2] + 8;
  off.user_stack = d_report[2] + 1;
  if (off.spec1 + 32 * 16 != off.spec || off.spec + 32 * 8 > off.size ||
      off.user_stack >= off.size)
    return "struct pthread offsets inconsistent";
  if (AT(m, TCB_SELF0, char *) != m || AT(m, TCB_SELF, char *) != m)
    return "tcb self pointers";
  if (AT(m, off.tid, pid_t) != tid)
    return "tid";
  if (AT(m, off.list, void *) == NULL || AT(m, off.list + 8, void *) == NULL)
    return "thread list";
  if (AT(m, off.robust, char *) != m + off.robust)
    return "robust list head";
  if (AT(m, off.spec, char *) != m + off.spec1)
    return "specific[0]";
  if (AT(m, off.user_stack, unsigned char) != 1)
    return "user_stack";
  return layout_tail(m);
}

/* dl_iterate_phdr's callback: the static TLS block of the module that
 * holds the running thread's errno (libc's). */
static int find_libc(struct dl_phdr_info *info, size_t size, void *arg) {
  char *m = arg, *e = (char *)&errno;
  (void)size;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    char *d = info->dlpi_tls_data;
    if (ph->p_type != PT_TLS || d == NULL || e < d || e >= d + ph->p_memsz)
      continue;
    libc_off = d - m;
    libc_size = ph->p_memsz;
    return 1;
  }
  return 0;
}

/* Checks that the struct pthread field tls_state (glibc's
 * tls_internal_t: strsignal_buf, then strerror_l_buf) is where
 * layout_tail put it, by taking the running thread's strerror buffer
 * (main TCB m). Else forgets it: the buffers are then left alone. */
static void check_tls_state(char *m) {
  int e = errno;
  char *text = strerror(-4242); /* an unknown error: written in the buffer */
  errno = e;
  if (AT(m, off.tls_state + 8, char *) != text)
    off.tls_state = 0;
}

/* glibc 2.36's malloc cache of a thread (tcache_perthread_struct): a
 * count and a list head per size class; a list's next pointers are
 * mangled with their own address (REVEAL_PTR), and a cached chunk's
 * second word is the key that marks it as cached. */
#define TCACHE_BINS 64
struct tcache {
  uint16_t counts[TCACHE_BINS];
  void **entries[TCACHE_BINS];
};

/* Whether n bytes at addr can be read (process_vm_readv on ourselves
 * says EFAULT where they cannot), copied to buf. */
static bool can_read(const void *addr, void *buf, size_t n) {
  struct iovec to = {buf, n}, from = {(void *)addr, n};
  return GP_REAL(syscall)(SYS_process_vm_readv, getpid(), &to, 1, &from, 1,
                          0) == (long)n;
}

/* Finds malloc's tcache pointer (a static __thread of libc's) in libc's
 * static TLS block of the main TCB m: the slot whose struct has, after a
 * malloc and free of 24 bytes, that chunk at the head of its first list,
 * and no longer after the malloc that takes it back. tcache_off stays 0
 * when none does (tunables or a malloc of another kind). */
static void find_tcache(char *m) {
  struct tcache tc;
  tcache_off = 0;
  void *p = malloc(24);
  if (p == NULL)
    return;
  uintptr_t a = (uintptr_t)p;
  __asm__("" : "+r"(a)); /* an address to compare, not a live pointer */
  free(p);
  for (size_t o = 0; o + 8 <= libc_size; o += 8) {
    void *v = AT(m, libc_off + (ptrdiff_t)o, void *);
    if (v == NULL || ((uintptr_t)v & 15) != 0 ||
        !can_read(v, &tc, sizeof tc) || (uintptr_t)tc.entries[0] != a ||
        tc.counts[0] == 0)
      continue;
    void *b = malloc(24);
    uintptr_t got = (uintptr_t)b;
    __asm__("" : "+r"(got));
    bool found = got == a && (uintptr_t)((struct tcache *)v)->entries[0] != a;
    free(b);
    if (found)
      tcache_off = libc_off + (ptrdiff_t)o;
    return;
  }
}

/* What glibc's thread exit (__libc_thread_freeres) gives back and a
 * block kept or freed here would otherwise keep for ever: the buffers of
 * strsignal and strerror (in struct pthread, which reuse clears), and
 * the malloc cache: its chunks go back to malloc (to the running
 * context's cache, as a thread's free of another's memory does, or to
 * their arena), then the cache itself; the next coroutine on the block
 * makes a new one at its first malloc, as a new thread does. Runs in
 * another context than p's, which has ended. */
static void release_libc(char *p) {
  if (off.tls_state) {
    for (int i = 0; i < 2; i++) {
      free(AT(p, off.tls_state + 8 * i, void *));
      AT(p, off.tls_state + 8 * i, void *) = NULL;
    }
  }
  if (tcache_off == 0)
    return;
  struct tcache *tc = AT(p, tcache_off, struct tcache *);
  if (tc == NULL)
    return;
  AT(p, tcache_off, struct tcache *) = NULL;
  for (int i = 0; i < TCACHE_BINS; i++) {
    void **e = tc->entries[i];
    for (unsigned n = tc->counts[i]; n > 0 && e != NULL; n--) {
      void **next = (void **)((uintptr_t)e >> 12 ^ (uintptr_t)e[0]);
      e[1] = NULL; /* no longer cached: free's double-free check */
      free(e);
      e = next;
    }
  }
  free(tc);
}

/* Resolves glibc's entry points and checks the layout; 0 when private
 * TLS can be used, else -1 after one warning. */
static int setup(char *m) {
  const char *why = NULL;
  if (strcmp(gnu_get_libc_version(), "2.36") != 0) {
    why = "only glibc 2.36 on x86-64 is tested";
    goto fallback;
  }
  g.allocate = dlvsym(RTLD_DEFAULT, "_dl_allocate_tls", "GLIBC_PRIVATE");
  g.init = dlvsym(RTLD_DEFAULT, "_dl_allocate_tls_init", "GLIBC_PRIVATE");
  g.deallocate = dlvsym(RTLD_DEFAULT, "_dl_deallocate_tls", "GLIBC_PRIVATE");
  g.ctype_init = dlvsym(RTLD_DEFAULT, "__ctype_init", "GLIBC_PRIVATE");
  g.call_tls_dtors = dlvsym(RTLD_DEFAULT, "__call_tls_dtors",
                            "GLIBC_PRIVATE");
  g.rseq_offset = dlvsym(RTLD_DEFAULT, "__rseq_offset", "GLIBC_2.35");
  g.rseq_size = dlvsym(RTLD_DEFAULT, "__rseq_size", "GLIBC_2.35");
  if (!g.allocate || !g.init || !g.deallocate || !g.ctype_init ||
      !g.call_tls_dtors || !g.rseq_offset || !g.rseq_size) {
    why = "glibc's private TLS entry points are missing";
    goto fallback;
  }
  why = layout(m, (pid_t)GP_REAL(syscall)(SYS_gettid));
  if (why == NULL)
    why = find_list(m);
  if (why)
    goto fallback;
  gp_tls_off = (char *)&gp__tls - m;
  if (gp_tls_off >= 0) {
    why = "the shim's own TLS is not in the static block";
    goto fallback;
  }
  if (dl_iterate_phdr(find_libc, m) != 1 || libc_off >= 0 ||
      libc_size > 4096)
    libc_size = 0; /* no reuse: a block per coroutine, freed after it */
  check_tls_state(m);
  if (libc_size)
    find_tcache(m);
  return 0;
fallback:
  gp__log("private TLS: %s (glibc %s); coroutines share the OS "
          "thread's TLS (GPATCH_TLS=shared)", why, gnu_get_libc_version());
  return -1;
}

int gp__tls_start(void) {
  if (!wanted)
    return 0;
  char *m = gp__ctx_get_tp();
  if (m == NULL || setup(m) != 0)
    return 0;
  gp__ctx_tp_fast(getauxval(AT_HWCAP2) & 2); /* HWCAP2_FSGSBASE */
  /* Real threads the runtime makes later (pool threads) mark only the
   * TCB that created them as multi-threaded: mark every one now, so no
   * block takes glibc's single-thread shortcuts (malloc's unlocked
   * main arena) while such threads run. */
  AT(m, TCB_MULTIPLE_THREADS, int) = 1;
  gp__tls_main_tp = m;
  gp__tls_private = 1;
  /* The hub gets a block of its own too: whatever it calls (libuv's
   * syscalls set errno) leaves the main coroutine's alone, and it can
   * move to another OS thread (handoff.c). */
  gp__hub_tp = first_block = block_new();
  if (gp__hub_tp == NULL) {
    gp__log("private TLS: out of memory; coroutines share the OS "
            "thread's TLS (GPATCH_TLS=shared)");
    gp__tls_private = 0;
    return 0;
  }
  GP_LOGL(GP_LOG_INFO, "private TLS: struct pthread %zu B, wrfsbase %s, "
          "malloc cache %s", off.size,
          getauxval(AT_HWCAP2) & 2 ? "on" : "off",
          tcache_off ? "found" : "not found (kept with the block)");
  return 1;
}

/* A block of an ended coroutine made as new, but for libc's module. */
static char *reuse(void) {
  char *p = pool[--npool];
  char keep[libc_size]; /* at most 4096 (setup) */
  memcpy(keep, p + libc_off, libc_size);
  struct dtv { void *val, *to_free; } *dtv = AT(p, 8, struct dtv *);
  size_t n = (size_t)dtv[-1].val; /* its length, dtv[-1].counter */
  for (size_t i = 0; i < n; i++)
    free(dtv[1 + i].to_free);
  memset(dtv, 0, (n + 1) * sizeof *dtv);
  memset(p + 16, 0, off.size - 16); /* the TCB, but its tcb and dtv */
  g.init(p, true);
  memcpy(p + libc_off, keep, libc_size);
  return p;
}

/* The stack glibc reads in the thread's descriptor (its alloca cutoff,
 * __libc_alloca_cutoff; longjmp's unwinding of cleanup buffers): the
 * whole mapping, guard page included, as glibc describes a stack it
 * allocated (the TLS block is elsewhere here), or the program's own
 * stack with no guard. */
static void set_stackblock(char *p, gp_coro *c) {
  size_t guard = c->own_stack ? 0 : gp__page_size();
  size_t *sb = &AT(p, off.stackblock + 8, size_t);
  AT(p, off.stackblock, void *) = c->own_stack ? c->own_stack : c->stack;
  sb[0] = c->stack_size + guard; /* stackblock_size */
  sb[1] = guard;                 /* guardsize */
  sb[2] = guard;                 /* reported_guardsize */
}

/* A block set up as glibc's pthread_create sets a new thread's, with the
 * shim's flags saying "a scheduler thread, inside the runtime" (the
 * trampoline leaves it for the program), and in glibc's thread list.
 * NULL when out of memory. */
static char *block_new(void) {
  char *m = gp__tls_main_tp;
  /* Zeroed TCB, DTV, module images copied. */
  char *p = npool > 0 ? reuse() : g.allocate(NULL);
  if (p == NULL)
    return NULL;
  AT(p, TCB_SELF0, char *) = p;
  AT(p, TCB_SELF, char *) = p;
  AT(p, TCB_MULTIPLE_THREADS, int) = 1;
  AT(p, TCB_SYSINFO, uintptr_t) = AT(m, TCB_SYSINFO, uintptr_t);
  AT(p, TCB_STACK_GUARD, uintptr_t) = AT(m, TCB_STACK_GUARD, uintptr_t);
  AT(p, TCB_POINTER_GUARD, uintptr_t) = AT(m, TCB_POINTER_GUARD, uintptr_t);
  AT(p, TCB_FEATURE_1, unsigned) = AT(m, TCB_FEATURE_1, unsigned);
  AT(p, off.tid, pid_t) = AT(m, off.tid, pid_t);
  AT(p, off.robust, char *) = p + off.robust;                /* list */
  AT(p, off.robust + 8, long) = AT(m, off.robust + 8, long); /* offset */
  AT(p, off.robust + 16, void *) = NULL;                     /* pending */
  AT(p, off.spec, char *) = p + off.spec1;
  AT(p, off.user_stack, unsigned char) = 1; /* fork leaves the stack be */
  AT(p, resp_off, void *) = p + off.res; /* _res: its own, as glibc's */
  if (*g.rseq_size > 0) /* the kernel updates only the main TCB's area */
    AT(p, *g.rseq_offset + 4, uint32_t) = RSEQ_CPU_ID_REGISTRATION_FAILED;
  AT(p, gp_tls_off, struct gp_tls) = (struct gp_tls){.sched = 1, .inside = 1};
  link_block(p); /* last: glibc may write its static TLS from now on */
  return p;
}

int gp__tls_new(gp_coro *c) {
  c->tls_tp = block_new();
  if (c->tls_tp == NULL)
    return -ENOMEM;
  set_stackblock(c->tls_tp, c);
  return 0;
}

void *gp__tls_block(void) { return block_new(); }

struct gp_tls *gp__tls_of(gp_coro *c) {
  char *tp = c->tls_tp ? c->tls_tp : gp__tls_main_tp;
  return (struct gp_tls *)(tp + gp_tls_off);
}

void gp__tls_begin(void) {
  if (!gp__tls_private)
    return;
  /* What a reused block's libc part may still hold (see the top). */
  uselocale(LC_GLOBAL_LOCALE);
  g.ctype_init(); /* the ctype tables' per-thread pointers */
  h_errno = 0;
  if (libc_size)
    dlerror();
}

void gp__tls_run_dtors(void) {
  if (gp__tls_private && gp__current && !gp__current->is_main) {
    g.call_tls_dtors();
    /* glibc's __res_thread_freeres: the resolver's sockets, if any. */
    struct __res_state *res = __res_state();
    if (res->nscount != 0)
      res_nclose(res);
    res->options = 0;
    gp__current->tls_done = 1;
  }
}

/* Only the block of a coroutine that ended through its exit functions is
 * reused: one retired in a forked child still lists thread_local objects
 * to destroy in libc's part. */
void gp__tls_free(gp_coro *c) {
  unlink_block(c->tls_tp);
  release_libc(c->tls_tp);
  if (libc_size && c->tls_done && npool < POOL_MAX)
    pool[npool++] = c->tls_tp;
  else
    g.deallocate(c->tls_tp, true);
  c->tls_tp = NULL;
}

/* glibc's handler of SIGSETXID (__SIGRTMIN + 1), in the kernel's form. */
struct ksigaction {
  void (*handler)(int, siginfo_t *, void *);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};
static struct ksigaction glibc_setxid;

/* SIGSETXID, on any OS thread: glibc's handler answers for the thread
 * whose block is installed (THREAD_SELF), but glibc signalled a tid, and
 * on an OS thread of the shim's that block may be a coroutine's, or the
 * main TCB in use on another OS thread. So the handler runs on the
 * listed block that glibc marked for this OS thread (its tid, the
 * SETXID bit), one per signal as glibc counts them, with the thread
 * pointer put back after. No lock: the caller of setuid holds the list
 * lock for its whole call. None marked: glibc's handler as it is. */
static void setxid_relay(int sig, siginfo_t *si, void *uc) {
  char *cur, *mine = NULL;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(cur));
  pid_t tid = (pid_t)GP_REAL(syscall)(SYS_gettid);
  for (struct link *head = stack_user - 1; head <= stack_user && !mine;
       head++)
    for (struct link *l = head->next; l != head && !mine; l = l->next) {
      char *t = (char *)l - off.list;
      if (AT(t, off.tid, pid_t) == tid &&
          (__atomic_load_n(&AT(t, off.cancel, int), __ATOMIC_ACQUIRE) &
           SETXID_BITMASK))
        mine = t;
    }
  if (mine == NULL || mine == cur) {
    glibc_setxid.handler(sig, si, uc);
    return;
  }
  gp__ctx_set_tp(mine);
  glibc_setxid.handler(sig, si, uc);
  gp__ctx_set_tp(cur);
}

/* Puts setxid_relay in front of glibc's SIGSETXID handler (the signal
 * glibc keeps from the program: only the raw call reaches it). glibc
 * installs its handler with the first real thread (pthread_create's
 * late_init), so this runs before each setuid-family call. */
static void relay_setxid(void) {
  struct ksigaction now, ours;
  if (GP_REAL(syscall)(SYS_rt_sigaction, __SIGRTMIN + 1, NULL, &now, 8) != 0 ||
      now.handler == setxid_relay || now.handler == NULL ||
      (now.flags & SA_SIGINFO) == 0)
    return;
  glibc_setxid = now;
  ours = now;
  ours.handler = setxid_relay;
  GP_REAL(syscall)(SYS_rt_sigaction, __SIGRTMIN + 1, &ours, NULL, 8);
}

/* setuid and friends (__nptl_setxid) signal every other thread glibc
 * lists and wait until each one's handler has answered in its name. The
 * running coroutine's block is not the OS thread's own (the main TCB, or
 * another real thread's), yet that one has the same tid: its signal is
 * handled here, in the caller's name, and glibc waits for it forever. So
 * for the call, the listed TCBs of this OS thread but the running block
 * (coroutine blocks are marked already) are marked as exiting too; the
 * caller's own system call changes the OS thread's ids, as for them.
 * And the main coroutine, on another OS thread than the first since a
 * hand-off, is the main TCB, the only one glibc would signal the first
 * OS thread by: the first host's block (its tid the first thread's too)
 * is listed as live for the call, so that thread changes its ids as well
 * (setxid_relay answers for it there). */
static char *unhidden; /* that block, during such a call */

void *gp__tls_xid_begin(void) {
  char *self, *marked = NULL;
  if (!gp__tls_private)
    return NULL;
  relay_setxid();
  if (!gp__tls.sched)
    return NULL;
  __asm__("mov %%fs:0, %0" : "=r"(self));
  pid_t tid = (pid_t)GP_REAL(syscall)(SYS_gettid);
  list_lock();
  for (struct link *head = stack_user - 1; head <= stack_user; head++)
    for (struct link *l = head->next; l != head; l = l->next) {
      char *t = (char *)l - off.list;
      int *ch = &AT(t, off.cancel, int);
      if (t == self || AT(t, off.tid, pid_t) != tid ||
          (__atomic_load_n(ch, __ATOMIC_RELAXED) & EXITING_BITMASK))
        continue;
      __atomic_fetch_or(ch, EXITING_BITMASK, __ATOMIC_ACQ_REL);
      marked = t;
    }
  if (self == gp__tls_main_tp && AT(self, off.tid, pid_t) != tid &&
      first_block != NULL &&
      AT(first_block, off.tid, pid_t) == AT(self, off.tid, pid_t)) {
    unhidden = first_block;
    __atomic_fetch_and(&AT(unhidden, off.cancel, int), ~EXITING_BITMASK,
                       __ATOMIC_ACQ_REL);
  }
  list_unlock();
  return marked;
}

void gp__tls_xid_end(void *marked) {
  if (marked)
    __atomic_fetch_and(&AT(marked, off.cancel, int), ~EXITING_BITMASK,
                       __ATOMIC_ACQ_REL);
  if (unhidden) {
    __atomic_fetch_or(&AT(unhidden, off.cancel, int), EXITING_BITMASK,
                      __ATOMIC_ACQ_REL);
    unhidden = NULL;
  }
}

#else /* not glibc on x86-64: shared TLS only */

void *gp__tls_block(void) { return NULL; }
struct gp_tls *gp__tls_of(gp_coro *c) {
  (void)c;
  return &gp__tls;
}

int gp__tls_start(void) {
  if (wanted)
    gp__log("private TLS: only glibc 2.36 on x86-64 is tested; "
            "coroutines share the OS thread's TLS (GPATCH_TLS=shared)");
  return 0;
}

int gp__tls_new(gp_coro *c) {
  (void)c;
  return -ENOSYS;
}
void gp__tls_begin(void) {}
void gp__tls_run_dtors(void) {}
void gp__tls_free(gp_coro *c) { c->tls_tp = NULL; }
void *gp__tls_xid_begin(void) { return NULL; }
void gp__tls_xid_end(void *marked) { (void)marked; }

#endif
