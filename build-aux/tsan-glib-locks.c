/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ThreadSanitizer builds only (build-aux/run-tsan.sh preloads it; never
 * installed, never linked into the library).
 *
 * GLib implements GMutex, GCond, GRWLock and GRecMutex on Linux with raw
 * futexes, which TSan does not see: every hand-off through one of them
 * would look like a data race. This library defines those functions again
 * on top of pthread objects, which TSan intercepts, so that it sees the
 * locks of our code, of GIO and GObject, and of the test programs.
 *
 * The pthread object lives in a separate allocation whose address is
 * stored in the GLib object's first pointer; a zero-filled (static)
 * GLib object gets one on first use, as GLib's own non-futex fallback
 * does. Calls made inside libglib itself are bound there and do not come
 * here: those hand-offs (GAsyncQueue, GThreadPool, GMainContext) are the
 * ones build-aux/tsan.supp names.
 *
 * Thread pools get the same treatment: libglib hands a pushed item to a
 * pool thread through its own futex lock, so g_thread_pool_push() (called
 * from outside libglib: our pools and GTask's) releases the pool and every
 * task function acquires it before it runs; g_once_init_leave() releases
 * what g_once_init_enter() acquires.
 *
 * Built with -fsanitize=thread so that TSan sees the atomic publication
 * of the pthread objects.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <glib.h>

#define SHIM_EXPORT __attribute__ ((visibility ("default")))

static G_NORETURN void
shim_fail (const char *what,
           int         error)
{
  fprintf (stderr, "tsan-glib-locks: %s failed: error %d\n", what, error);
  abort ();
}

#define CHECK(call) G_STMT_START { int _e = (call); if (_e != 0) shim_fail (#call, _e); } G_STMT_END

typedef void *(*ShimNew) (void);
typedef void  (*ShimFree) (void *impl);

/* The pthread object behind @slot, created on first use. */
static void *
shim_get (gpointer *slot,
          ShimNew   create,
          ShimFree  destroy)
{
  void *impl = __atomic_load_n (slot, __ATOMIC_ACQUIRE);
  void *expected = NULL;

  if (impl != NULL)
    return impl;
  impl = create ();
  if (__atomic_compare_exchange_n (slot, &expected, impl, FALSE, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return impl;
  destroy (impl);
  return expected;
}

static void
shim_clear (gpointer *slot,
            ShimFree  destroy)
{
  void *impl = __atomic_exchange_n (slot, NULL, __ATOMIC_ACQ_REL);

  if (impl != NULL)
    destroy (impl);
}

/* ---- GMutex and GRecMutex -------------------------------------------- */

static void *
mutex_new_of_type (int type)
{
  pthread_mutex_t *mutex = malloc (sizeof *mutex);
  pthread_mutexattr_t attr;

  if (mutex == NULL)
    shim_fail ("malloc", ENOMEM);
  CHECK (pthread_mutexattr_init (&attr));
  CHECK (pthread_mutexattr_settype (&attr, type));
  CHECK (pthread_mutex_init (mutex, &attr));
  CHECK (pthread_mutexattr_destroy (&attr));
  return mutex;
}

static void *
mutex_new (void)
{
  return mutex_new_of_type (PTHREAD_MUTEX_NORMAL);
}

static void *
rec_mutex_new (void)
{
  return mutex_new_of_type (PTHREAD_MUTEX_RECURSIVE);
}

static void
mutex_free (void *impl)
{
  CHECK (pthread_mutex_destroy (impl));
  free (impl);
}

static pthread_mutex_t *
mutex_get (GMutex *mutex)
{
  return shim_get (&mutex->p, mutex_new, mutex_free);
}

static pthread_mutex_t *
rec_mutex_get (GRecMutex *rec_mutex)
{
  return shim_get (&rec_mutex->p, rec_mutex_new, mutex_free);
}

SHIM_EXPORT void
g_mutex_init (GMutex *mutex)
{
  mutex->p = mutex_new ();
}

SHIM_EXPORT void
g_mutex_clear (GMutex *mutex)
{
  shim_clear (&mutex->p, mutex_free);
}

SHIM_EXPORT void
g_mutex_lock (GMutex *mutex)
{
  CHECK (pthread_mutex_lock (mutex_get (mutex)));
}

SHIM_EXPORT void
g_mutex_unlock (GMutex *mutex)
{
  CHECK (pthread_mutex_unlock (mutex_get (mutex)));
}

SHIM_EXPORT gboolean
g_mutex_trylock (GMutex *mutex)
{
  int error = pthread_mutex_trylock (mutex_get (mutex));

  if (error != 0 && error != EBUSY)
    shim_fail ("pthread_mutex_trylock", error);
  return error == 0;
}

SHIM_EXPORT void
g_rec_mutex_init (GRecMutex *rec_mutex)
{
  rec_mutex->p = rec_mutex_new ();
}

SHIM_EXPORT void
g_rec_mutex_clear (GRecMutex *rec_mutex)
{
  shim_clear (&rec_mutex->p, mutex_free);
}

SHIM_EXPORT void
g_rec_mutex_lock (GRecMutex *rec_mutex)
{
  CHECK (pthread_mutex_lock (rec_mutex_get (rec_mutex)));
}

SHIM_EXPORT void
g_rec_mutex_unlock (GRecMutex *rec_mutex)
{
  CHECK (pthread_mutex_unlock (rec_mutex_get (rec_mutex)));
}

SHIM_EXPORT gboolean
g_rec_mutex_trylock (GRecMutex *rec_mutex)
{
  int error = pthread_mutex_trylock (rec_mutex_get (rec_mutex));

  if (error != 0 && error != EBUSY)
    shim_fail ("pthread_mutex_trylock", error);
  return error == 0;
}

/* ---- GRWLock ----------------------------------------------------------- */

static void *
rw_lock_new (void)
{
  pthread_rwlock_t *lock = malloc (sizeof *lock);

  if (lock == NULL)
    shim_fail ("malloc", ENOMEM);
  CHECK (pthread_rwlock_init (lock, NULL));
  return lock;
}

static void
rw_lock_free (void *impl)
{
  CHECK (pthread_rwlock_destroy (impl));
  free (impl);
}

static pthread_rwlock_t *
rw_lock_get (GRWLock *rw_lock)
{
  return shim_get (&rw_lock->p, rw_lock_new, rw_lock_free);
}

SHIM_EXPORT void
g_rw_lock_init (GRWLock *rw_lock)
{
  rw_lock->p = rw_lock_new ();
}

SHIM_EXPORT void
g_rw_lock_clear (GRWLock *rw_lock)
{
  shim_clear (&rw_lock->p, rw_lock_free);
}

SHIM_EXPORT void
g_rw_lock_writer_lock (GRWLock *rw_lock)
{
  CHECK (pthread_rwlock_wrlock (rw_lock_get (rw_lock)));
}

SHIM_EXPORT gboolean
g_rw_lock_writer_trylock (GRWLock *rw_lock)
{
  int error = pthread_rwlock_trywrlock (rw_lock_get (rw_lock));

  if (error != 0 && error != EBUSY)
    shim_fail ("pthread_rwlock_trywrlock", error);
  return error == 0;
}

SHIM_EXPORT void
g_rw_lock_writer_unlock (GRWLock *rw_lock)
{
  CHECK (pthread_rwlock_unlock (rw_lock_get (rw_lock)));
}

SHIM_EXPORT void
g_rw_lock_reader_lock (GRWLock *rw_lock)
{
  CHECK (pthread_rwlock_rdlock (rw_lock_get (rw_lock)));
}

SHIM_EXPORT gboolean
g_rw_lock_reader_trylock (GRWLock *rw_lock)
{
  int error = pthread_rwlock_tryrdlock (rw_lock_get (rw_lock));

  if (error != 0 && error != EBUSY && error != EAGAIN)
    shim_fail ("pthread_rwlock_tryrdlock", error);
  return error == 0;
}

SHIM_EXPORT void
g_rw_lock_reader_unlock (GRWLock *rw_lock)
{
  CHECK (pthread_rwlock_unlock (rw_lock_get (rw_lock)));
}

/* ---- GCond (CLOCK_MONOTONIC, as g_cond_wait_until's end time) -------- */

static void *
cond_new (void)
{
  pthread_cond_t *cond = malloc (sizeof *cond);
  pthread_condattr_t attr;

  if (cond == NULL)
    shim_fail ("malloc", ENOMEM);
  CHECK (pthread_condattr_init (&attr));
  CHECK (pthread_condattr_setclock (&attr, CLOCK_MONOTONIC));
  CHECK (pthread_cond_init (cond, &attr));
  CHECK (pthread_condattr_destroy (&attr));
  return cond;
}

static void
cond_free (void *impl)
{
  CHECK (pthread_cond_destroy (impl));
  free (impl);
}

static pthread_cond_t *
cond_get (GCond *cond)
{
  return shim_get (&cond->p, cond_new, cond_free);
}

SHIM_EXPORT void
g_cond_init (GCond *cond)
{
  cond->p = cond_new ();
}

SHIM_EXPORT void
g_cond_clear (GCond *cond)
{
  shim_clear (&cond->p, cond_free);
}

SHIM_EXPORT void
g_cond_wait (GCond  *cond,
             GMutex *mutex)
{
  CHECK (pthread_cond_wait (cond_get (cond), mutex_get (mutex)));
}

SHIM_EXPORT void
g_cond_signal (GCond *cond)
{
  CHECK (pthread_cond_signal (cond_get (cond)));
}

SHIM_EXPORT void
g_cond_broadcast (GCond *cond)
{
  CHECK (pthread_cond_broadcast (cond_get (cond)));
}

SHIM_EXPORT gboolean
g_cond_wait_until (GCond  *cond,
                   GMutex *mutex,
                   gint64  end_time)
{
  struct timespec ts;
  int error;

  ts.tv_sec = end_time / G_USEC_PER_SEC;
  ts.tv_nsec = (end_time % G_USEC_PER_SEC) * 1000;
  error = pthread_cond_timedwait (cond_get (cond), mutex_get (mutex), &ts);
  if (error != 0 && error != ETIMEDOUT)
    shim_fail ("pthread_cond_timedwait", error);
  return error == 0;
}

/* ---- GThreadPool hand-off --------------------------------------------- */

void __tsan_acquire (void *addr);
void __tsan_release (void *addr);

typedef struct {
  GFunc    func;
  gpointer user_data;
} PoolTask;

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *pools;  /* GThreadPool * → PoolTask * */

static void
pool_task_run (gpointer data,
               gpointer user_data)
{
  PoolTask *task = user_data;

  __tsan_acquire (task);
  task->func (data, task->user_data);
}

static void *
next_symbol (const char *name)
{
  void *symbol = dlsym (RTLD_NEXT, name);

  if (symbol == NULL)
    shim_fail (name, ENOENT);
  return symbol;
}

static GThreadPool *
pool_register (GThreadPool *pool,
               PoolTask    *task)
{
  if (pool == NULL)
    return NULL;
  CHECK (pthread_mutex_lock (&pools_lock));
  if (pools == NULL)
    pools = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (pools, pool, task);
  CHECK (pthread_mutex_unlock (&pools_lock));
  return pool;
}

/* A PoolTask lives as long as the process: a pool freed without waiting
 * may still run tasks. */
static PoolTask *
pool_task_new (GFunc    func,
               gpointer user_data)
{
  PoolTask *task = malloc (sizeof *task);

  if (task == NULL)
    shim_fail ("malloc", ENOMEM);
  task->func = func;
  task->user_data = user_data;
  return task;
}

SHIM_EXPORT GThreadPool *
g_thread_pool_new (GFunc     func,
                   gpointer  user_data,
                   gint      max_threads,
                   gboolean  exclusive,
                   GError  **error)
{
  GThreadPool *(*real) (GFunc, gpointer, gint, gboolean, GError **) = next_symbol ("g_thread_pool_new");
  PoolTask *task = pool_task_new (func, user_data);

  return pool_register (real (pool_task_run, task, max_threads, exclusive, error), task);
}

SHIM_EXPORT GThreadPool *
g_thread_pool_new_full (GFunc           func,
                        gpointer        user_data,
                        GDestroyNotify  item_free_func,
                        gint            max_threads,
                        gboolean        exclusive,
                        GError        **error)
{
  GThreadPool *(*real) (GFunc, gpointer, GDestroyNotify, gint, gboolean, GError **) =
    next_symbol ("g_thread_pool_new_full");
  PoolTask *task = pool_task_new (func, user_data);

  return pool_register (real (pool_task_run, task, item_free_func, max_threads, exclusive, error), task);
}

SHIM_EXPORT gboolean
g_thread_pool_push (GThreadPool  *pool,
                    gpointer      data,
                    GError      **error)
{
  gboolean (*real) (GThreadPool *, gpointer, GError **) = next_symbol ("g_thread_pool_push");
  PoolTask *task;

  CHECK (pthread_mutex_lock (&pools_lock));
  task = pools != NULL ? g_hash_table_lookup (pools, pool) : NULL;
  CHECK (pthread_mutex_unlock (&pools_lock));
  if (task != NULL)
    __tsan_release (task);
  return real (pool, data, error);
}

SHIM_EXPORT void
g_thread_pool_free (GThreadPool *pool,
                    gboolean     immediate,
                    gboolean     wait_)
{
  void (*real) (GThreadPool *, gboolean, gboolean) = next_symbol ("g_thread_pool_free");

  CHECK (pthread_mutex_lock (&pools_lock));
  if (pools != NULL)
    g_hash_table_remove (pools, pool);
  CHECK (pthread_mutex_unlock (&pools_lock));
  real (pool, immediate, wait_);
}

/* ---- g_once_init_enter/leave -------------------------------------------- */

/* g_once_init_leave() publishes the value with a store inside libglib;
 * the readers' fast path is an inline atomic load in our code. */
SHIM_EXPORT gboolean
(g_once_init_enter) (volatile void *location)
{
  gboolean (*real) (volatile void *) = next_symbol ("g_once_init_enter");
  gboolean initialize = real (location);

  if (!initialize)
    __tsan_acquire ((void *) location);
  return initialize;
}

SHIM_EXPORT void
(g_once_init_leave) (volatile void *location,
                     gsize          result)
{
  void (*real) (volatile void *, gsize) = next_symbol ("g_once_init_leave");

  __tsan_release ((void *) location);
  real (location, result);
}
