/* ipc.c: calls that block in the kernel with no cooperative form: System
 * V semaphores and message queues, POSIX message queues, file locks.
 *
 * Nothing in the loop can wait for them, so with the hand-off on
 * (GPATCH_TLS=private) the calling thread keeps its OS thread for the
 * call and the others go on on another one, at once rather than after
 * the monitor's threshold (GP_DETACHED_CALL, core/guard.h). A call that
 * cannot block (IPC_NOWAIT, LOCK_NB, F_TLOCK) is made straight. Without
 * the hand-off each is the real call, which blocks every thread.
 * fcntl's F_SETLKW is handled by fcntl's hook (socket/fd.c).
 */
#include <fcntl.h>
#include <mqueue.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <unistd.h>

#include "core/guard.h"
#include "real.h"

/* semop may wait when an operation takes from a semaphore or waits for
 * zero (sem_op <= 0) without IPC_NOWAIT; adding never waits. */
static int sem_may_wait(const struct sembuf *ops, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (ops[i].sem_op <= 0 && !(ops[i].sem_flg & IPC_NOWAIT))
      return 1;
  return 0;
}

GP_EXPORT int semop(int id, struct sembuf *ops, size_t n) {
  if (!sem_may_wait(ops, n))
    return GP_REAL(semop)(id, ops, n);
  return GP_DETACHED_CALL(GP_REAL(semop)(id, ops, n));
}

GP_EXPORT int semtimedop(int id, struct sembuf *ops, size_t n,
                         const struct timespec *timeout) {
  if (!sem_may_wait(ops, n))
    return GP_REAL(semtimedop)(id, ops, n, timeout);
  return GP_DETACHED_CALL(GP_REAL(semtimedop)(id, ops, n, timeout));
}

GP_EXPORT ssize_t msgrcv(int id, void *msg, size_t size, long type,
                         int flags) {
  if (flags & IPC_NOWAIT)
    return GP_REAL(msgrcv)(id, msg, size, type, flags);
  return GP_DETACHED_CALL(GP_REAL(msgrcv)(id, msg, size, type, flags));
}

GP_EXPORT int msgsnd(int id, const void *msg, size_t size, int flags) {
  if (flags & IPC_NOWAIT)
    return GP_REAL(msgsnd)(id, msg, size, flags);
  return GP_DETACHED_CALL(GP_REAL(msgsnd)(id, msg, size, flags));
}

/* A POSIX message queue opened O_NONBLOCK never waits: one mq_getattr
 * says so (a system call, cheap beside a hand-off). */
static int mq_may_wait(mqd_t q) {
  struct mq_attr a;
  return mq_getattr(q, &a) != 0 || !(a.mq_flags & O_NONBLOCK);
}

GP_EXPORT ssize_t mq_receive(mqd_t q, char *msg, size_t size,
                             unsigned *prio) {
  if (!mq_may_wait(q))
    return GP_REAL(mq_receive)(q, msg, size, prio);
  return GP_DETACHED_CALL(GP_REAL(mq_receive)(q, msg, size, prio));
}

GP_EXPORT ssize_t mq_timedreceive(mqd_t q, char *msg, size_t size,
                                  unsigned *prio,
                                  const struct timespec *abs) {
  if (!mq_may_wait(q))
    return GP_REAL(mq_timedreceive)(q, msg, size, prio, abs);
  return GP_DETACHED_CALL(GP_REAL(mq_timedreceive)(q, msg, size, prio, abs));
}

GP_EXPORT int mq_send(mqd_t q, const char *msg, size_t size, unsigned prio) {
  if (!mq_may_wait(q))
    return GP_REAL(mq_send)(q, msg, size, prio);
  return GP_DETACHED_CALL(GP_REAL(mq_send)(q, msg, size, prio));
}

GP_EXPORT int mq_timedsend(mqd_t q, const char *msg, size_t size,
                           unsigned prio, const struct timespec *abs) {
  if (!mq_may_wait(q))
    return GP_REAL(mq_timedsend)(q, msg, size, prio, abs);
  return GP_DETACHED_CALL(GP_REAL(mq_timedsend)(q, msg, size, prio, abs));
}

GP_EXPORT int flock(int fd, int op) {
  if (op & LOCK_NB)
    return GP_REAL(flock)(fd, op);
  return GP_DETACHED_CALL(GP_REAL(flock)(fd, op));
}

GP_EXPORT int lockf(int fd, int cmd, off_t len) {
  if (cmd != F_LOCK)
    return GP_REAL(lockf)(fd, cmd, len);
  return GP_DETACHED_CALL(GP_REAL(lockf)(fd, cmd, len));
}

/* The same call under its large-file name (one off_t on 64-bit). */
GP_EXPORT int lockf64(int fd, int cmd, off_t len) {
  return lockf(fd, cmd, len);
}
