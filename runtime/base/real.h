/* real.h: the table of real libc symbols, resolved once with dlsym.
 *
 * Every hook, and all runtime code, reaches libc through this table, never
 * through a hooked name. The X-macro list below is the one place a real
 * symbol is named: GP_REAL_LIST(X) expands X(ret, name, params) for each.
 */
#ifndef GP_REAL_H
#define GP_REAL_H

#include <mqueue.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

#define GP_REAL_LIST(X)                                                     \
  X(ssize_t, read, (int, void *, size_t))                                   \
  X(ssize_t, write, (int, const void *, size_t))                            \
  X(ssize_t, readv, (int, const struct iovec *, int))                       \
  X(ssize_t, writev, (int, const struct iovec *, int))                      \
  X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int))         \
  X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int))        \
  X(ssize_t, recv, (int, void *, size_t, int))                              \
  X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *,       \
                        socklen_t *))                                       \
  X(ssize_t, recvmsg, (int, struct msghdr *, int))                          \
  X(ssize_t, send, (int, const void *, size_t, int))                        \
  X(ssize_t, sendto, (int, const void *, size_t, int,                       \
                      const struct sockaddr *, socklen_t))                  \
  X(ssize_t, sendmsg, (int, const struct msghdr *, int))                    \
  X(int, accept, (int, struct sockaddr *, socklen_t *))                     \
  X(int, accept4, (int, struct sockaddr *, socklen_t *, int))               \
  X(int, connect, (int, const struct sockaddr *, socklen_t))                \
  X(int, socket, (int, int, int))                                           \
  X(int, socketpair, (int, int, int, int *))                                \
  X(int, close, (int))                                                      \
  X(int, pipe, (int *))                                                     \
  X(int, pipe2, (int *, int))                                               \
  X(int, dup, (int))                                                        \
  X(int, dup2, (int, int))                                                  \
  X(int, dup3, (int, int, int))                                             \
  X(int, fcntl, (int, int, ...))                                            \
  X(int, fcntl64, (int, int, ...))                                          \
  X(int, poll, (struct pollfd *, nfds_t, int))                              \
  X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *,         \
                 const sigset_t *))                                         \
  X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *))     \
  X(int, pselect, (int, fd_set *, fd_set *, fd_set *,                       \
                   const struct timespec *, const sigset_t *))              \
  X(unsigned, sleep, (unsigned))                                            \
  X(int, usleep, (useconds_t))                                              \
  X(int, nanosleep, (const struct timespec *, struct timespec *))           \
  X(int, clock_nanosleep, (clockid_t, int, const struct timespec *,        \
                           struct timespec *))                              \
  X(int, sched_yield, (void))                                               \
  X(int, pthread_create, (pthread_t *, const pthread_attr_t *,              \
                          void *(*)(void *), void *))                       \
  X(int, pthread_join, (pthread_t, void **))                                \
  X(int, pthread_detach, (pthread_t))                                       \
  X(void, pthread_exit, (void *))                                           \
  X(pthread_t, pthread_self, (void))                                        \
  X(int, pthread_equal, (pthread_t, pthread_t))                             \
  X(int, pthread_tryjoin_np, (pthread_t, void **))                          \
  X(int, pthread_timedjoin_np, (pthread_t, void **,                         \
                                const struct timespec *))                   \
  X(int, pthread_setname_np, (pthread_t, const char *))                     \
  X(int, pthread_getname_np, (pthread_t, char *, size_t))                   \
  X(int, pthread_mutex_lock, (pthread_mutex_t *))                           \
  X(int, pthread_mutex_trylock, (pthread_mutex_t *))                        \
  X(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t,             \
                                   const struct timespec *))               \
  X(int, pthread_mutex_unlock, (pthread_mutex_t *))                         \
  X(long, syscall, (long, ...))                                             \
  X(int, ioctl, (int, unsigned long, ...))                                  \
  X(int, flock, (int, int))                                                 \
  X(int, lockf, (int, int, off_t))                                          \
  X(int, semop, (int, struct sembuf *, size_t))                             \
  X(int, semtimedop, (int, struct sembuf *, size_t,                         \
                      const struct timespec *))                             \
  X(ssize_t, msgrcv, (int, void *, size_t, long, int))                      \
  X(int, msgsnd, (int, const void *, size_t, int))                          \
  X(ssize_t, mq_receive, (mqd_t, char *, size_t, unsigned *))               \
  X(ssize_t, mq_timedreceive, (mqd_t, char *, size_t, unsigned *,           \
                               const struct timespec *))                    \
  X(int, mq_send, (mqd_t, const char *, size_t, unsigned))                  \
  X(int, mq_timedsend, (mqd_t, const char *, size_t, unsigned,              \
                        const struct timespec *))                           \
  X(int, setsockopt, (int, int, int, const void *, socklen_t))              \
  X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *))          \
  X(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *,      \
                                  const struct timespec *))                 \
  X(int, pthread_cond_signal, (pthread_cond_t *))                           \
  X(int, pthread_cond_broadcast, (pthread_cond_t *))                       \
  X(int, sigaction, (int, const struct sigaction *, struct sigaction *))    \
  X(int, epoll_wait, (int, struct epoll_event *, int, int))                 \
  X(int, epoll_pwait, (int, struct epoll_event *, int, int,                 \
                       const sigset_t *))                                   \
  X(int, epoll_pwait2, (int, struct epoll_event *, int,                     \
                        const struct timespec *, const sigset_t *))         \
  X(int, pthread_clockjoin_np, (pthread_t, void **, clockid_t,              \
                                const struct timespec *))                   \
  X(int, pthread_kill, (pthread_t, int))                                    \
  X(int, pthread_sigqueue, (pthread_t, int, const union sigval))            \
  X(int, pthread_cancel, (pthread_t))                                       \
  X(FILE *, fdopen, (int, const char *))                                    \
  X(int, fileno, (FILE *))                                                  \
  X(int, fileno_unlocked, (FILE *))                                         \
  X(int, pthread_setcancelstate, (int, int *))                              \
  X(int, pthread_setcanceltype, (int, int *))                               \
  X(void, pthread_testcancel, (void))                                       \
  X(void, __pthread_register_cancel, (__pthread_unwind_buf_t *))            \
  X(void, __pthread_unregister_cancel, (__pthread_unwind_buf_t *))          \
  X(void, __pthread_unwind_next, (__pthread_unwind_buf_t *))                \
  X(int, pthread_getattr_np, (pthread_t, pthread_attr_t *))                 \
  X(int, pthread_setaffinity_np, (pthread_t, size_t, const cpu_set_t *))    \
  X(int, pthread_getaffinity_np, (pthread_t, size_t, cpu_set_t *))          \
  X(int, pthread_setschedparam, (pthread_t, int,                            \
                                 const struct sched_param *))               \
  X(int, pthread_getschedparam, (pthread_t, int *, struct sched_param *))   \
  X(int, pthread_setschedprio, (pthread_t, int))                            \
  X(int, pthread_getcpuclockid, (pthread_t, clockid_t *))                  \
  X(int, sched_getaffinity, (pid_t, size_t, cpu_set_t *))                   \
  X(int, sched_setaffinity, (pid_t, size_t, const cpu_set_t *))             \
  X(int, sched_getscheduler, (pid_t))                                       \
  X(int, sched_setscheduler, (pid_t, int, const struct sched_param *))      \
  X(int, sched_getparam, (pid_t, struct sched_param *))                     \
  X(int, sched_setparam, (pid_t, const struct sched_param *))               \
  X(int, getpriority, (__priority_which_t, id_t))                           \
  X(int, setpriority, (__priority_which_t, id_t, int))                      \
  X(int, setuid, (uid_t))                                                   \
  X(int, setgid, (gid_t))                                                   \
  X(int, seteuid, (uid_t))                                                  \
  X(int, setegid, (gid_t))                                                  \
  X(int, setreuid, (uid_t, uid_t))                                          \
  X(int, setregid, (gid_t, gid_t))                                          \
  X(int, setresuid, (uid_t, uid_t, uid_t))                                  \
  X(int, setresgid, (gid_t, gid_t, gid_t))                                  \
  X(int, setgroups, (size_t, const gid_t *))                                \
  X(int, initgroups, (const char *, gid_t))                                 \
  X(int, pthread_key_create, (pthread_key_t *, void (*)(void *)))          \
  X(int, pthread_key_delete, (pthread_key_t))                               \
  X(void *, pthread_getspecific, (pthread_key_t))                           \
  X(int, pthread_setspecific, (pthread_key_t, const void *))                \
  X(int, pthread_sigmask, (int, const sigset_t *, sigset_t *))              \
  X(int, sigprocmask, (int, const sigset_t *, sigset_t *))                 \
  X(int, sigpending, (sigset_t *))                                           \
  X(int, pthread_cond_clockwait, (pthread_cond_t *, pthread_mutex_t *,      \
                                  clockid_t, const struct timespec *))      \
  X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *))                       \
  X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *))                    \
  X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *,                   \
                                      const struct timespec *))             \
  X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t,        \
                                      const struct timespec *))             \
  X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *))                       \
  X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *))                    \
  X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *,                   \
                                      const struct timespec *))             \
  X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t,        \
                                      const struct timespec *))             \
  X(int, pthread_rwlock_unlock, (pthread_rwlock_t *))                       \
  /* sem_t * as void *: <semaphore.h> is not needed here */                 \
  X(int, sem_wait, (void *))                                                \
  X(int, sem_trywait, (void *))                                             \
  X(int, sem_timedwait, (void *, const struct timespec *))                  \
  X(int, sem_clockwait, (void *, clockid_t, const struct timespec *))       \
  X(int, sem_post, (void *))                                                \
  X(int, pthread_barrier_wait, (pthread_barrier_t *))                       \
  X(int, pthread_once, (pthread_once_t *, void (*)(void)))                  \
  X(int, pthread_spin_lock, (pthread_spinlock_t *))                         \
  X(int, pthread_spin_trylock, (pthread_spinlock_t *))                      \
  X(pid_t, wait, (int *))                                                   \
  X(pid_t, waitpid, (pid_t, int *, int))                                    \
  X(pid_t, wait3, (int *, int, struct rusage *))                            \
  X(pid_t, wait4, (pid_t, int *, int, struct rusage *))                     \
  X(int, waitid, (idtype_t, id_t, siginfo_t *, int))                        \
  X(int, close_range, (unsigned, unsigned, int))                            \
  X(int, pause, (void))                                                     \
  X(int, sigsuspend, (const sigset_t *))                                    \
  X(int, sigwait, (const sigset_t *, int *))                                \
  X(int, sigwaitinfo, (const sigset_t *, siginfo_t *))                      \
  X(int, sigtimedwait, (const sigset_t *, siginfo_t *,                      \
                        const struct timespec *))                   \
  X(int, getaddrinfo, (const char *, const char *, const struct addrinfo *, \
                       struct addrinfo **))                                 \
  X(int, getnameinfo, (const struct sockaddr *, socklen_t, char *,          \
                       socklen_t, char *, socklen_t, int))                  \
  X(struct hostent *, gethostbyname, (const char *))                        \
  X(struct hostent *, gethostbyname2, (const char *, int))                  \
  X(int, gethostbyname_r, (const char *, struct hostent *, char *, size_t,  \
                           struct hostent **, int *))                       \
  X(int, gethostbyname2_r, (const char *, int, struct hostent *, char *,    \
                            size_t, struct hostent **, int *))              \
  X(struct hostent *, gethostbyaddr, (const void *, socklen_t, int))        \
  X(int, gethostbyaddr_r, (const void *, socklen_t, int, struct hostent *,  \
                           char *, size_t, struct hostent **, int *))       \
  X(int, openat, (int, const char *, int, ...))                             \
  X(int, shutdown, (int, int))                                              \
  X(int, eventfd, (unsigned int, int))                                      \
  X(int, timerfd_create, (int, int))                                        \
  X(int, signalfd, (int, const sigset_t *, int))                            \
  X(int, inotify_init, (void))                                              \
  X(int, inotify_init1, (int))                                              \
  X(int, epoll_create, (int))                                               \
  X(int, epoll_create1, (int))                                              \
  X(int, epoll_ctl, (int, int, int, struct epoll_event *))                  \
  X(ssize_t, sendfile, (int, int, off_t *, size_t))                         \
  X(ssize_t, pread, (int, void *, size_t, off_t))                           \
  X(ssize_t, pwrite, (int, const void *, size_t, off_t))                    \
  X(ssize_t, preadv, (int, const struct iovec *, int, off_t))               \
  X(ssize_t, pwritev, (int, const struct iovec *, int, off_t))              \
  X(int, fsync, (int))                                                      \
  X(int, fdatasync, (int))                                                  \
  X(int, __open_2, (const char *, int))                                     \
  X(int, __open64_2, (const char *, int))                                   \
  X(int, __openat_2, (int, const char *, int))                              \
  X(int, __openat64_2, (int, const char *, int))

/* Symbols with several versions, resolved with dlvsym at this version. */
#define GP_REAL_VERSIONED(name)                                             \
  (__builtin_strncmp(name, "pthread_cond_", 13) == 0 ? "GLIBC_2.3.2" : NULL)

struct gp_real {
#define GP_REAL_MEMBER(ret, name, params) ret (*name) params;
  GP_REAL_LIST(GP_REAL_MEMBER)
#undef GP_REAL_MEMBER
};

extern struct gp_real gp__real;

/* Resolves every symbol of the list; idempotent. Aborts with a clear
 * message when a symbol is missing or resolves to our own hook. */
void gp__real_init(void);

/* The real symbol `name`, resolved on first use: a hook may run before the
 * library's constructor (from another library's constructor). */
#define GP_REAL(name)                                                       \
  (GP_LIKELY(gp__real.name != NULL) ? gp__real.name                         \
                                    : (gp__real_init(), gp__real.name))

#define gp__real_write GP_REAL(write)

#pragma GCC visibility pop

#endif
