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
 * here: their hand-offs are modelled below where a call from outside
 * libglib brackets them; what is left is named in build-aux/tsan.supp.
 *
 * Thread pools get the same treatment: libglib hands a pushed item to a
 * pool thread through its own futex lock, so g_thread_pool_push() (called
 * from outside libglib: our pools and GTask's) releases the pool and every
 * task function acquires it before it runs; g_once_init_leave() releases
 * what g_once_init_enter() acquires. The memory a pool allocates for
 * itself (the pool, its GAsyncQueue, the queue's list nodes) is libglib's
 * own: allocated by the caller of g_thread_pool_new()/push()/free(), only
 * touched by libglib under its futex lock, and freed by whichever pool
 * thread pops it or is the last to leave a freed pool. TSan is told to
 * ignore the accesses inside those calls, so that these allocations and
 * frees are not reported against each other.
 *
 * Reference counts: g_atomic_ref_count_dec() and the atomic GRcBox release
 * functions are libglib's; dropping a reference releases, and the thread
 * that drops the last one acquires before the free.
 *
 * Main-loop sources: a GTask run in a thread returns its result through
 * an idle source attached (g_source_attach(), from libgio) to the
 * caller's context; the context hands it to the thread that dispatches it
 * under libglib's own lock. g_source_set_callback() installs callback
 * functions whose ref() and get(), called by the dispatching thread before
 * the callback runs, acquire what g_source_attach() released.
 *
 * Not built with -fsanitize=thread (see the annotations below): TSan
 * sees the pthread calls and the annotations, not the shim's own accesses.
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

/* TSan's annotation interface, defined by the instrumented program. Weak,
 * and the shim is not instrumented itself: LD_PRELOAD reaches the
 * programs the tests run too (python3, minisign), which have no TSan. */
extern void __tsan_acquire (void *addr) __attribute__ ((weak));
extern void __tsan_release (void *addr) __attribute__ ((weak));
extern void AnnotateIgnoreReadsBegin (const char *file, int line) __attribute__ ((weak));
extern void AnnotateIgnoreReadsEnd (const char *file, int line) __attribute__ ((weak));
extern void AnnotateIgnoreWritesBegin (const char *file, int line) __attribute__ ((weak));
extern void AnnotateIgnoreWritesEnd (const char *file, int line) __attribute__ ((weak));

/* What happened in this thread before tsan_release (@addr) happens before
 * what another thread does after a later tsan_acquire (@addr). */
static void
tsan_acquire (void *addr)
{
  if (__tsan_acquire != NULL)
    __tsan_acquire (addr);
}

static void
tsan_release (void *addr)
{
  if (__tsan_release != NULL)
    __tsan_release (addr);
}

/* Around a call into libglib whose allocations stay libglib's (see the
 * top of the file). Only around calls that run no code of ours. */
static void
libglib_own_begin (void)
{
  if (AnnotateIgnoreReadsBegin == NULL)
    return;
  AnnotateIgnoreReadsBegin (__FILE__, __LINE__);
  AnnotateIgnoreWritesBegin (__FILE__, __LINE__);
}

static void
libglib_own_end (void)
{
  if (AnnotateIgnoreReadsEnd == NULL)
    return;
  AnnotateIgnoreWritesEnd (__FILE__, __LINE__);
  AnnotateIgnoreReadsEnd (__FILE__, __LINE__);
}

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

  /* The publication, for TSan (the shim is not instrumented). */
  if (impl != NULL)
    {
      tsan_acquire (slot);
      return impl;
    }
  impl = create ();
  tsan_release (slot);
  if (__atomic_compare_exchange_n (slot, &expected, impl, FALSE, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return impl;
  destroy (impl);
  tsan_acquire (slot);
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


typedef struct {
  GFunc    func;
  gpointer user_data;
  gboolean item_free_func;  /* free() would call it: not ignored */
} PoolTask;

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *pools;  /* GThreadPool * → PoolTask * */

static void
pool_task_run (gpointer data,
               gpointer user_data)
{
  PoolTask *task = user_data;

  tsan_acquire (task);
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

static PoolTask *
pool_lookup (GThreadPool *pool)
{
  PoolTask *task;

  CHECK (pthread_mutex_lock (&pools_lock));
  task = pools != NULL ? g_hash_table_lookup (pools, pool) : NULL;
  CHECK (pthread_mutex_unlock (&pools_lock));
  return task;
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
  task->item_free_func = FALSE;
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
  GThreadPool *pool;

  libglib_own_begin ();
  pool = real (pool_task_run, task, max_threads, exclusive, error);
  libglib_own_end ();
  return pool_register (pool, task);
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
  GThreadPool *pool;

  task->item_free_func = item_free_func != NULL;
  libglib_own_begin ();
  pool = real (pool_task_run, task, item_free_func, max_threads, exclusive, error);
  libglib_own_end ();
  return pool_register (pool, task);
}

SHIM_EXPORT gboolean
g_thread_pool_push (GThreadPool  *pool,
                    gpointer      data,
                    GError      **error)
{
  gboolean (*real) (GThreadPool *, gpointer, GError **) = next_symbol ("g_thread_pool_push");
  PoolTask *task = pool_lookup (pool);
  gboolean pushed;

  if (task != NULL)
    tsan_release (task);
  libglib_own_begin ();
  pushed = real (pool, data, error);
  libglib_own_end ();
  return pushed;
}

/* Raising the limit may hand the pool to an idle thread (a queue node). */
SHIM_EXPORT gboolean
g_thread_pool_set_max_threads (GThreadPool  *pool,
                               gint          max_threads,
                               GError      **error)
{
  gboolean (*real) (GThreadPool *, gint, GError **) = next_symbol ("g_thread_pool_set_max_threads");
  gboolean set;

  libglib_own_begin ();
  set = real (pool, max_threads, error);
  libglib_own_end ();
  return set;
}

SHIM_EXPORT void
g_thread_pool_free (GThreadPool *pool,
                    gboolean     immediate,
                    gboolean     wait_)
{
  void (*real) (GThreadPool *, gboolean, gboolean) = next_symbol ("g_thread_pool_free");
  PoolTask *task;
  gboolean ignore;

  CHECK (pthread_mutex_lock (&pools_lock));
  task = pools != NULL ? g_hash_table_lookup (pools, pool) : NULL;
  if (pools != NULL)
    g_hash_table_remove (pools, pool);
  CHECK (pthread_mutex_unlock (&pools_lock));
  /* The wake-up items it queues for idle threads are libglib's; an
   * item_free_func would run our code in here. */
  ignore = task == NULL || !task->item_free_func;
  if (ignore)
    libglib_own_begin ();
  real (pool, immediate, wait_);
  if (ignore)
    libglib_own_end ();
}

/* ---- Main-loop sources -------------------------------------------------- */

/* What g_source_set_callback() builds, but the dispatching thread's
 * ref() and get() (g_main_dispatch() calls both before the callback)
 * acquire what the attaching thread released. */
typedef struct {
  int            ref_count;
  GSourceFunc    func;
  gpointer       data;
  GDestroyNotify notify;
} SourceCallback;

static void
source_callback_ref (gpointer cb_data)
{
  SourceCallback *callback = cb_data;

  tsan_acquire (callback);
  __atomic_add_fetch (&callback->ref_count, 1, __ATOMIC_RELAXED);
}

static void
source_callback_unref (gpointer cb_data)
{
  SourceCallback *callback = cb_data;

  if (__atomic_sub_fetch (&callback->ref_count, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  if (callback->notify != NULL)
    callback->notify (callback->data);
  free (callback);
}

static void
source_callback_get (gpointer      cb_data,
                     GSource      *source,
                     GSourceFunc  *func,
                     gpointer     *data)
{
  SourceCallback *callback = cb_data;

  tsan_acquire (callback);
  *func = callback->func;
  *data = callback->data;
}

static GSourceCallbackFuncs source_callback_funcs = {
  source_callback_ref,
  source_callback_unref,
  source_callback_get,
};

SHIM_EXPORT void
g_source_set_callback (GSource        *source,
                       GSourceFunc     func,
                       gpointer        data,
                       GDestroyNotify  notify)
{
  SourceCallback *callback = malloc (sizeof *callback);

  if (callback == NULL)
    shim_fail ("malloc", ENOMEM);
  callback->ref_count = 1;
  callback->func = func;
  callback->data = data;
  callback->notify = notify;
  /* For a source that is already attached. */
  tsan_release (callback);
  g_source_set_callback_indirect (source, callback, &source_callback_funcs);
}

/* The context's table of sources, which an attach may grow (realloc),
 * is libglib's, under the context's lock: a thread attaching a GTask's
 * result and the owner thread attaching or destroying are not a race. */
SHIM_EXPORT guint
g_source_attach (GSource      *source,
                 GMainContext *context)
{
  guint (*real) (GSource *, GMainContext *) = next_symbol ("g_source_attach");
  guint id;

  if (source->callback_funcs == &source_callback_funcs)
    tsan_release (source->callback_data);
  libglib_own_begin ();
  id = real (source, context);
  libglib_own_end ();
  return id;
}

/* ---- GAsyncQueue hand-off ---------------------------------------------- */

/* As a pool's queue: push releases the queue, pop acquires it, and the
 * queue and its list nodes are libglib's. */
SHIM_EXPORT GAsyncQueue *
g_async_queue_new (void)
{
  GAsyncQueue *(*real) (void) = next_symbol ("g_async_queue_new");
  GAsyncQueue *queue;

  libglib_own_begin ();
  queue = real ();
  libglib_own_end ();
  return queue;
}

SHIM_EXPORT GAsyncQueue *
g_async_queue_new_full (GDestroyNotify item_free_func)
{
  GAsyncQueue *(*real) (GDestroyNotify) = next_symbol ("g_async_queue_new_full");
  GAsyncQueue *queue;

  libglib_own_begin ();
  queue = real (item_free_func);
  libglib_own_end ();
  return queue;
}

SHIM_EXPORT void
g_async_queue_push (GAsyncQueue *queue,
                    gpointer     data)
{
  void (*real) (GAsyncQueue *, gpointer) = next_symbol ("g_async_queue_push");

  tsan_release (queue);
  libglib_own_begin ();
  real (queue, data);
  libglib_own_end ();
}

SHIM_EXPORT void
g_async_queue_push_front (GAsyncQueue *queue,
                          gpointer     data)
{
  void (*real) (GAsyncQueue *, gpointer) = next_symbol ("g_async_queue_push_front");

  tsan_release (queue);
  libglib_own_begin ();
  real (queue, data);
  libglib_own_end ();
}

SHIM_EXPORT gpointer
g_async_queue_pop (GAsyncQueue *queue)
{
  gpointer (*real) (GAsyncQueue *) = next_symbol ("g_async_queue_pop");
  gpointer data;

  libglib_own_begin ();
  data = real (queue);
  libglib_own_end ();
  tsan_acquire (queue);
  return data;
}

SHIM_EXPORT gpointer
g_async_queue_try_pop (GAsyncQueue *queue)
{
  gpointer (*real) (GAsyncQueue *) = next_symbol ("g_async_queue_try_pop");
  gpointer data;

  libglib_own_begin ();
  data = real (queue);
  libglib_own_end ();
  tsan_acquire (queue);
  return data;
}

SHIM_EXPORT gpointer
g_async_queue_timeout_pop (GAsyncQueue *queue,
                           guint64      timeout)
{
  gpointer (*real) (GAsyncQueue *, guint64) = next_symbol ("g_async_queue_timeout_pop");
  gpointer data;

  libglib_own_begin ();
  data = real (queue, timeout);
  libglib_own_end ();
  tsan_acquire (queue);
  return data;
}

/* ---- Reference counts ---------------------------------------------------- */

/* g_atomic_ref_count_dec() is a libglib function (the inline version needs
 * G_DISABLE_CHECKS): what a thread did before dropping its reference
 * happens before the free by the thread that drops the last one. */
SHIM_EXPORT gboolean
g_atomic_ref_count_dec (gatomicrefcount *arc)
{
  gboolean (*real) (gatomicrefcount *) = next_symbol ("g_atomic_ref_count_dec");
  gboolean last;

  tsan_release (arc);
  last = real (arc);
  if (last)
    tsan_acquire (arc);
  return last;
}

/* The same for an atomic GRcBox, whose count is inside libglib: the clear
 * function, called before the free by the last releaser, acquires. */
static __thread GDestroyNotify rc_box_clear;

static void
rc_box_clear_acquire (gpointer mem)
{
  GDestroyNotify clear = rc_box_clear;

  tsan_acquire (mem);
  if (clear != NULL)
    clear (mem);
}

SHIM_EXPORT void
g_atomic_rc_box_release_full (gpointer       mem_block,
                              GDestroyNotify clear_func)
{
  void (*real) (gpointer, GDestroyNotify) = next_symbol ("g_atomic_rc_box_release_full");

  tsan_release (mem_block);
  rc_box_clear = clear_func;
  real (mem_block, rc_box_clear_acquire);
}

SHIM_EXPORT void
g_atomic_rc_box_release (gpointer mem_block)
{
  g_atomic_rc_box_release_full (mem_block, NULL);
}

/* ---- Locks libglib creates for itself ----------------------------------- */

/* libglib creates the pthread object behind a static GRWLock on first use
 * and publishes it with an atomic compare-and-swap TSan does not see
 * (g_error_new() and g_error_free() read-lock the extended error domains'
 * one): make it do so before any thread exists. */
__attribute__ ((constructor)) static void
shim_create_libglib_locks (void)
{
  g_error_free (g_error_new_literal (G_FILE_ERROR, G_FILE_ERROR_FAILED, "tsan-glib-locks"));
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
    tsan_acquire ((void *) location);
  return initialize;
}

SHIM_EXPORT void
(g_once_init_leave) (volatile void *location,
                     gsize          result)
{
  void (*real) (volatile void *, gsize) = next_symbol ("g_once_init_leave");

  tsan_release ((void *) location);
  real (location, result);
}
