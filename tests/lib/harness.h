/* Test harness for the preload tests: runs the small programs of tests/progs
 * natively or under LD_PRELOAD=libgpatch.so, with a deadline, and captures
 * what they print.
 *
 * The test process itself is never preloaded: LD_PRELOAD is set only in the
 * child's environment, after the fork.  Every child runs in its own process
 * group, with stdin from /dev/null, and the whole group is killed with
 * SIGKILL at the deadline or as soon as the child has exited, so a test
 * leaves nothing behind.
 */
#ifndef GP_HARNESS_H
#define GP_HARNESS_H

#include <sys/types.h>

/* The result of one run. */
struct gp_run {
  int status;     /* The waitpid status of the child. */
  int timed_out;  /* 1 when the child was killed at the deadline. */
  char *out;      /* Captured stdout, NUL-terminated, owned by the run. */
  char *err;      /* Captured stderr, NUL-terminated, owned by the run. */
  double elapsed; /* Wall seconds from the fork to the child's exit. */
  char what[200]; /* "prog args (native|preload) env", for messages. */
};

/* A program started in the background (a server), stopped by gp_stop. */
struct gp_proc {
  pid_t pid;      /* The child's pid, also its process group id; 0 when gone. */
  int out_fd;     /* Memory file that receives the child's stdout. */
  int err_fd;     /* Memory file that receives the child's stderr. */
  double started; /* Monotonic seconds at the fork. */
};

/* Builds a NULL-terminated argument or environment list in place. */
#define GP_ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Runs <build>/progs/<prog> (or prog itself when it is an absolute path) with
 * argv (NULL-terminated, without argv[0]: the harness fills it in) and the
 * extra environment entries "K=V" of env (NULL-terminated, may be NULL).
 * When preload is 1, LD_PRELOAD=<build>/libgpatch.so is set in the child.
 * Inherited LD_PRELOAD and GPATCH_* variables are dropped from the child's
 * environment first, so only env configures it.  The child's process group
 * is killed with SIGKILL at timeout_s.  GPATCH_TEST_TLS=private in the
 * test's environment adds GPATCH_TLS=private to every preloaded run whose
 * env does not set GPATCH_TLS.  Returns 0 when the program ran (r is
 * filled in and must be released with gp_run_free), -1 when it could not be
 * started (r is zeroed). */
int gp_run(struct gp_run *r, int preload, const char *const *env,
           double timeout_s, const char *prog, const char *const *argv);

/* Releases the buffers of a run; r may be zeroed or already freed. */
void gp_run_free(struct gp_run *r);

/* The build directory: $GPATCH_TEST_BUILD, or "build" when unset. */
const char *gp_build(void);

/* A TCP port nothing is bound to now, for a server the test starts: one
 * below the kernel's ephemeral range (ip_local_port_range), which bind to
 * port 0 and connect never hand out, so the connections of the tests that
 * run in parallel cannot take it before the server binds it (a port from
 * bind to port 0 could be, and the server then failed with EADDRINUSE).
 * Tried from a random start, each checked with a bind to 0.0.0.0 (the
 * socket is closed again). Falls back to the kernel's choice when the
 * range starts too low. Returns -1 on failure. */
int gp_free_port(void);

/* The value of the first "key=NUM" token in text (a token starts the text or
 * follows white space), or -1 when there is none. */
long gp_kv(const char *text, const char *key);

/* Starts a program in the background like gp_run, its output going to
 * memory files so it can never block on a full pipe.  Returns 0 or -1. */
int gp_start(struct gp_proc *p, int preload, const char *const *env,
             const char *prog, const char *const *argv);

/* Sends sig to the background program (0 sends nothing), waits up to
 * timeout_s for it to exit, then kills its process group with SIGKILL.  Fills
 * r like gp_run (timed_out is 1 when SIGKILL was needed).  Returns 0, or -1
 * when p was not running. */
int gp_stop(struct gp_proc *p, int sig, double timeout_s, struct gp_run *r);

/* Waits until something listens on TCP 127.0.0.1:port (read from
 * /proc/net/tcp, so the check opens no connection), the background program
 * p exits (p may be NULL), or timeout_s passes.  Returns 0 when the port
 * listens, -1 otherwise. */
int gp_wait_listen(int port, const struct gp_proc *p, double timeout_s);

/* Waits until no TCP socket with local port port is ESTABLISHED or
 * CLOSE_WAIT (a server has closed every connection it accepted), or
 * timeout_s passes.  Returns 0 when drained, -1 otherwise. */
int gp_wait_drained(int port, double timeout_s);

/* Whether the preload halves of the tests should run: 0 when the
 * environment variable GPATCH_TEST_NATIVE_ONLY is set to a non-empty value,
 * 1 otherwise. */
int gp_preload_wanted(void);

/* Criterion helpers: they fail the current test with the run's status and
 * output in the message. */

/* Runs like gp_run and asserts the program started, did not time out and
 * exited with status 0. */
void gp_run_ok(struct gp_run *r, int preload, const char *const *env,
               double timeout_s, const char *prog, const char *const *argv);

/* The usual shape of a preload test: runs prog with argv natively into n,
 * then, when gp_preload_wanted, preloaded into p (else p is zeroed).  Both
 * must exit 0 within timeout_s.  When native_threads is not 0, checks
 * threads=native_threads natively and threads=1 preloaded.  Checks both
 * printed the same key=value tokens, ignoring threads and the keys in the
 * space-separated list ignore (timings; may be NULL).  Returns 1 when p
 * holds a run.  Release both with gp_run_free. */
int gp_both(struct gp_run *n, struct gp_run *p, double timeout_s,
            const char *prog, const char *const *argv, long native_threads,
            const char *ignore);

/* gp_both, then check(r) on each run that happened (preloaded first, then
 * native), and both runs freed: for tests whose runs are checked alike. */
void gp_both_check(const char *prog, const char *const *argv,
                   long native_threads, const char *ignore,
                   void (*check)(const struct gp_run *r));

/* Asserts the program exited normally with the given status. */
void gp_expect_exit(const struct gp_run *r, int code);

/* The value of "key=NUM" in r->out; fails the test when it is absent. */
long gp_val(const struct gp_run *r, const char *key);

/* Asserts that r->out holds token as a whole white-space-separated word,
 * for values that are not single numbers ("order=4,3,2"). */
void gp_expect_token(const struct gp_run *r, const char *token);

/* Asserts that two runs printed the same key=value tokens in the same order,
 * ignoring the keys named in the space-separated list ignore (may be NULL). */
void gp_expect_same(const struct gp_run *native, const struct gp_run *preload,
                    const char *ignore);

/* Checks "key=NUM" of a run's stdout against want with the comparison op
 * (==, <, >=, ...), with the value, the run and its output in the failure
 * message.  For use in Criterion tests. */
#define GP_EXPECT_VAL(r, key, op, want)                                    \
  do {                                                                     \
    long gp_v_ = gp_val((r), (key));                                       \
    cr_expect(gp_v_ op (want), "%s=%ld, want %s %ld; %s", (key), gp_v_,    \
              #op, (long)(want), gp_describe(r));                          \
  } while (0)

/* The source tree: $GPATCH_TEST_SRC, or the first of the build
 * directory's parent and grandparent (build/ or build/asan/) that holds
 * scripts/gpatch; an absolute path, or NULL when none is found. */
const char *gp_src(void);

/* Removes path and everything below it (a test's temporary directory),
 * never following a symbolic link; a missing path is no error. */
void gp_rm_tree(const char *path);

/* The whole file at path, NUL-terminated (the caller frees it), or NULL
 * when it cannot be read. */
char *gp_slurp(const char *path);

/* A one-line description of the run for failure messages: exit status or
 * signal, whether it timed out, and the tail of its stderr.  Returns a
 * static buffer. */
const char *gp_describe(const struct gp_run *r);

#endif /* GP_HARNESS_H */
