/* errno_success_proc.h: the cases of errno_success for signals,
 * processes, the resolver and C11 threads. A part of errno_success.c (see
 * errno_success.h).
 */
#ifndef ERRNO_SUCCESS_PROC_H
#define ERRNO_SUCCESS_PROC_H

/* ---- Signals ----------------------------------------------------------- */

static volatile sig_atomic_t got_usr2;
static pthread_t main_thread;

static void on_usr2(int sig) {
  (void)sig;
  got_usr2 = 1;
}

static void cb_kill_main(void *arg) {
  pthread_kill(main_thread, (int)(intptr_t)arg);
}

static void signals(void) {
  struct sigaction sa = { .sa_handler = on_usr2 }, old;
  struct timespec t = { 5, 0 };
  union sigval val = { .sival_int = 1 };
  sigset_t set, pend;
  siginfo_t si;
  struct later l;
  int sig;

  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  CHECK("sigaction", "install", sigaction(SIGUSR2, &sa, &old) == 0);
  CHECK("sigaction", "query", sigaction(SIGUSR2, NULL, &old) == 0);
  CHECK("signal", "install", signal(SIGUSR2, on_usr2) != SIG_ERR);
  CHECK("sigprocmask", "block", sigprocmask(SIG_BLOCK, &set, NULL) == 0);
  CHECK_RC("pthread_sigmask", "block",
           pthread_sigmask(SIG_BLOCK, &set, NULL));
  CHECK_RC("pthread_kill", "zero", pthread_kill(pthread_self(), 0));
  CHECK_RC("pthread_kill", "handled", pthread_kill(pthread_self(), SIGUSR2));
  CHECK_RC("pthread_kill", "blocked", pthread_kill(pthread_self(), SIGUSR1));
  CHECK("sigpending", "one", sigpending(&pend) == 0
                             && sigismember(&pend, SIGUSR1) == 1);
  CHECK_RC("sigwait", "pending", sigwait(&set, &sig));
  later_start(&l, DELAY_MS, cb_kill_main, (void *)(intptr_t)SIGUSR1);
  CHECK_RC("sigwait", "wait", sigwait(&set, &sig));
  later_join(&l);
  pthread_kill(pthread_self(), SIGUSR1);
  CHECK("sigwaitinfo", "pending", sigwaitinfo(&set, &si) == SIGUSR1);
  later_start(&l, DELAY_MS, cb_kill_main, (void *)(intptr_t)SIGUSR1);
  CHECK("sigwaitinfo", "wait", sigwaitinfo(&set, &si) == SIGUSR1);
  later_join(&l);
  pthread_kill(pthread_self(), SIGUSR1);
  CHECK("sigtimedwait", "pending", sigtimedwait(&set, &si, &t) == SIGUSR1);
  later_start(&l, DELAY_MS, cb_kill_main, (void *)(intptr_t)SIGUSR1);
  CHECK("sigtimedwait", "wait", sigtimedwait(&set, &si, &t) == SIGUSR1);
  later_join(&l);
  CHECK_RC("pthread_sigqueue", "blocked",
           pthread_sigqueue(pthread_self(), SIGUSR1, val));
  sigwait(&set, &sig);
  CHECK("sigprocmask", "query", sigprocmask(SIG_BLOCK, NULL, &pend) == 0);
}

/* ---- Processes --------------------------------------------------------- */

/* Forks a child that exits with code after ms (0: at once). */
static pid_t child(int ms, int code) {
  pid_t pid = fork();

  if (pid < 0)
    die("fork");
  if (pid == 0) {
    if (ms > 0)
      ms_sleep(ms);
    _exit(code);
  }
  return pid;
}

/* A child that has already exited: waits until it is a zombie without
 * reaping it (waitid with WNOWAIT, not itself a case). */
static pid_t dead_child(void) {
  pid_t pid = child(0, 0);
  siginfo_t si;

  waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
  return pid;
}

static void processes(void) {
  int st;
  pid_t pid;
  siginfo_t si;
  struct rusage ru;
  FILE *f;
  char line[64];

  pid = dead_child();
  CHECK("waitpid", "done", waitpid(pid, &st, 0) == pid);
  pid = child(DELAY_MS, 0);
  CHECK("waitpid", "wait", waitpid(pid, &st, 0) == pid);
  pid = child(10 * DELAY_MS, 0); /* still running at the check */
  CHECK("waitpid", "nohang_running", waitpid(pid, &st, WNOHANG) == 0);
  waitpid(pid, &st, 0);
  pid = dead_child();
  CHECK("wait", "done", wait(&st) == pid);
  pid = child(DELAY_MS, 0);
  CHECK("wait", "wait", wait(&st) == pid);
  pid = dead_child();
  CHECK("wait3", "done", wait3(&st, 0, &ru) == pid);
  pid = child(DELAY_MS, 0);
  CHECK("wait3", "wait", wait3(&st, 0, &ru) == pid);
  pid = dead_child();
  CHECK("wait4", "done", wait4(pid, &st, 0, &ru) == pid);
  pid = child(DELAY_MS, 0);
  CHECK("wait4", "wait", wait4(pid, &st, 0, &ru) == pid);
  pid = dead_child();
  CHECK("waitid", "done", waitid(P_PID, pid, &si, WEXITED) == 0);
  pid = child(DELAY_MS, 0);
  CHECK("waitid", "wait", waitid(P_PID, pid, &si, WEXITED) == 0);
  errno = MARK;
  pid = vfork();
  if (pid == 0)
    _exit(0);
  st = errno;
  report("vfork", "exit_at_once", pid > 0, st, st);
  if (pid > 0)
    waitpid(pid, NULL, 0);
  CHECK("system", "true", system("exit 0") == 0);
  CHECK("popen", "echo", (f = popen("echo hi", "r")) != NULL);
  if (f != NULL) {
    if (fgets(line, sizeof line, f) == NULL)
      line[0] = '\0';
    CHECK("pclose", "echo", pclose(f) == 0);
  }
}

/* ---- Resolver (a pool thread under the shim) ---------------------------- */

static void dns(void) {
  struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
  struct addrinfo *res = NULL;
  struct sockaddr_in a = { .sin_family = AF_INET };
  struct hostent he, *hp;
  struct in_addr lo = { htonl(INADDR_LOOPBACK) };
  char buf[2048], host[256];
  int herr;

  a.sin_addr = lo;
  CHECK_RC("getaddrinfo", "localhost",
           getaddrinfo("localhost", "80", &hints, &res));
  freeaddrinfo(res);
  CHECK_RC("getaddrinfo", "numeric",
           getaddrinfo("127.0.0.1", "80", &hints, &res));
  freeaddrinfo(res);
  CHECK_RC("getnameinfo", "numeric",
           getnameinfo((struct sockaddr *)&a, sizeof a, host, sizeof host,
                       NULL, 0, NI_NUMERICHOST));
  CHECK_RC("getnameinfo", "localhost",
           getnameinfo((struct sockaddr *)&a, sizeof a, host, sizeof host,
                       NULL, 0, NI_NAMEREQD));
  CHECK("gethostbyname", "localhost", gethostbyname("localhost") != NULL);
  CHECK("gethostbyname2", "localhost",
        gethostbyname2("localhost", AF_INET) != NULL);
  CHECK("gethostbyname_r", "localhost",
        gethostbyname_r("localhost", &he, buf, sizeof buf, &hp, &herr) == 0
        && hp != NULL);
  CHECK("gethostbyname2_r", "localhost",
        gethostbyname2_r("localhost", AF_INET, &he, buf, sizeof buf, &hp,
                         &herr) == 0
        && hp != NULL);
  CHECK("gethostbyaddr", "loopback",
        gethostbyaddr(&lo, sizeof lo, AF_INET) != NULL);
  CHECK("gethostbyaddr_r", "loopback",
        gethostbyaddr_r(&lo, sizeof lo, AF_INET, &he, buf, sizeof buf, &hp,
                        &herr) == 0
        && hp != NULL);
}

/* ---- C11 threads ------------------------------------------------------- */

static mtx_t cm;
static cnd_t cc;
static int cflag;
static once_flag conce = ONCE_FLAG_INIT;

static void c11_once(void) { ran = 3; }
static int c11_quick(void *arg) { (void)arg; return 0; }
static int c11_slow(void *arg) {
  (void)arg;
  ms_sleep(DELAY_MS);
  return 0;
}

static void cm_take(void *arg) { (void)arg; mtx_lock(&cm); }
static void cm_give(void *arg) { (void)arg; mtx_unlock(&cm); }

static void cb_cnd_signal(void *arg) {
  (void)arg;
  mtx_lock(&cm);
  cflag = 1;
  cnd_signal(&cc);
  mtx_unlock(&cm);
}

static int c11_waiter(void *arg) {
  (void)arg;
  mtx_lock(&cm);
  cflag = 2;
  while (cflag != 3)
    cnd_wait(&cc, &cm);
  mtx_unlock(&cm);
  return 0;
}

/* Starts a c11_waiter, returns when it waits; cflag 3 releases it. */
static thrd_t c11_start_waiter(void) {
  thrd_t t;
  int f;

  cflag = 0;
  thrd_create(&t, c11_waiter, NULL);
  do {
    ms_sleep(2);
    mtx_lock(&cm);
    f = cflag;
    mtx_unlock(&cm);
  } while (f != 2);
  return t;
}

static void c11(void) {
  struct timespec ts;
  struct holder h;
  struct later l;
  thrd_t t;
  tss_t k;
  int res;

  CHECK("mtx_init", "timed", mtx_init(&cm, mtx_timed) == thrd_success);
  CHECK("cnd_init", "now", cnd_init(&cc) == thrd_success);
  CHECK("mtx_lock", "free", mtx_lock(&cm) == thrd_success);
  CHECK("mtx_unlock", "no_waiter", mtx_unlock(&cm) == thrd_success);
  CHECK("mtx_trylock", "free", mtx_trylock(&cm) == thrd_success);
  mtx_unlock(&cm);
  hold(&h, cm_take, cm_give, NULL);
  CHECK("mtx_lock", "contended", mtx_lock(&cm) == thrd_success);
  mtx_unlock(&cm);
  unhold(&h);
  ts = deadline(CLOCK_REALTIME, 5000);
  CHECK("mtx_timedlock", "free", mtx_timedlock(&cm, &ts) == thrd_success);
  mtx_unlock(&cm);
  hold(&h, cm_take, cm_give, NULL);
  ts = deadline(CLOCK_REALTIME, 5000);
  CHECK("mtx_timedlock", "contended",
        mtx_timedlock(&cm, &ts) == thrd_success);
  mtx_unlock(&cm);
  unhold(&h);
  mtx_lock(&cm);
  cflag = 0;
  later_start(&l, DELAY_MS, cb_cnd_signal, NULL);
  CHECK("cnd_wait", "signalled", cnd_wait(&cc, &cm) == thrd_success);
  while (!cflag)
    cnd_wait(&cc, &cm);
  cflag = 0;
  mtx_unlock(&cm);
  later_join(&l);
  mtx_lock(&cm);
  later_start(&l, DELAY_MS, cb_cnd_signal, NULL);
  ts = deadline(CLOCK_REALTIME, 5000);
  CHECK("cnd_timedwait", "signalled",
        cnd_timedwait(&cc, &cm, &ts) == thrd_success);
  while (!cflag)
    cnd_wait(&cc, &cm);
  mtx_unlock(&cm);
  later_join(&l);
  CHECK("cnd_signal", "no_waiter", cnd_signal(&cc) == thrd_success);
  CHECK("cnd_broadcast", "no_waiter", cnd_broadcast(&cc) == thrd_success);
  t = c11_start_waiter();
  mtx_lock(&cm);
  cflag = 3;
  CHECK("cnd_signal", "waiter", cnd_signal(&cc) == thrd_success);
  mtx_unlock(&cm);
  thrd_join(t, &res);
  t = c11_start_waiter();
  mtx_lock(&cm);
  cflag = 3;
  CHECK("cnd_broadcast", "waiter", cnd_broadcast(&cc) == thrd_success);
  mtx_unlock(&cm);
  thrd_join(t, &res);
  CHECK_VOID("cnd_destroy", "now", cnd_destroy(&cc));
  CHECK_VOID("mtx_destroy", "now", mtx_destroy(&cm));
  CHECK("thrd_create", "now",
        thrd_create(&t, c11_quick, NULL) == thrd_success);
  ms_sleep(DELAY_MS);
  CHECK("thrd_join", "done", thrd_join(t, &res) == thrd_success);
  thrd_create(&t, c11_slow, NULL);
  CHECK("thrd_join", "wait", thrd_join(t, &res) == thrd_success);
  thrd_create(&t, c11_slow, NULL);
  CHECK("thrd_detach", "running", thrd_detach(t) == thrd_success);
  ms_sleep(2 * DELAY_MS);
  CHECK("thrd_current", "main", (t = thrd_current()) != 0);
  CHECK("thrd_equal", "self", thrd_equal(t, thrd_current()) != 0);
  CHECK("tss_create", "now", tss_create(&k, NULL) == thrd_success);
  CHECK("tss_set", "now", tss_set(k, &k) == thrd_success);
  CHECK("tss_get", "now", tss_get(k) == &k);
  CHECK_VOID("tss_delete", "now", tss_delete(k));
  CHECK_VOID("call_once", "first", call_once(&conce, c11_once));
  CHECK_VOID("call_once", "again", call_once(&conce, c11_once));
}

#endif
