/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A hostile rustbridge plugin for the tests: it keeps the ABI's calling
 * conventions but breaks every promise about what it returns, logs and
 * does, one misbehaviour per message type tag (or raw message id). The
 * host must turn each one into a clear GError, never a crash, a leak or
 * unbounded memory.
 *
 * JSON tags (plugin_call):
 *   ok                    a well-formed success
 *   len.gt.capacity       len 1 MiB over a 16-byte allocation
 *   null.data             success code, NULL data, len 100
 *   null.data.error       error code 7, NULL data, len 100
 *   unknown.code          error envelope with code 4242
 *   unknown.code.text     plain error text with code 4242
 *   utf8.payload          success envelope whose payload string is not UTF-8
 *   utf8.error.text       plain error text that is not UTF-8
 *   utf8.error.envelope   error envelope whose error_message is not UTF-8
 *   deep.success          success envelope, payload nested 200,000 deep
 *   deep.error            error envelope with a member nested 200,000 deep
 *   deep.error.message    error envelope, error_message nested 200,000 deep
 *   deep.payload.512      success envelope, payload nested exactly 512 deep
 *   huge                  success with a string payload of {"size":N} bytes
 *   internal              error 11 (internal), the plugin stays active
 *   hang                  blocks until the handle is shut down or "unblock"
 *                         is called, then fails with error 11
 *   unblock               releases every "hang"
 *   log.null              logs a NULL message (len 5) and a NULL target
 *   log.huge              logs one message of {"size":N} bytes
 *   log.utf8              logs invalid UTF-8 message and target
 *   log.storm             {"threads":T,"count":N,"size":S}: T threads log N
 *                         messages of S bytes each
 *   exit, abort, segv     what they say (never in in-process tests)
 *   crash.segv, crash.abort, crash.exit (status 3), crash.stack_overflow
 *                         the same, and unbounded recursion (isolated
 *                         tests only)
 *   alloc.huge            touches {"mb":N} MiB (default 4096) of fresh
 *                         memory; aborts when the allocation fails (a
 *                         memory limit), answers success otherwise
 *   sandbox.probe         {"read":PATH,"write_dir":DIR}: tries what the
 *                         sandbox forbids and answers {"inet":B,
 *                         "read":B,"write":B,"tmp":B,"errors":{...}}: an
 *                         AF_INET socket, reading PATH, creating a file
 *                         in DIR (removed again) and one in /tmp
 *   sandbox.pid           {"pid":N,"ppid":N} as the plugin sees them
 *
 * Raw ids (plugin_call_raw): 1 a good 16-byte reply, 2 len > capacity,
 * 3 NULL data with len > 0, 4 error with NULL text and len > 0, 5 error
 * text that is not UTF-8, 6 unknown error code, 7 error text len >
 * capacity.
 *
 * plugin_init returns a handle that is already live when the config
 * contains "duplicate_handle":true or RB_MISBEHAVE_DUPLICATE_HANDLE is set.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-plugin-abi.h"


enum { STATE_ACTIVE = 2, STATE_STOPPING = 3 };

typedef struct Handle Handle;
struct Handle {
  Handle     *next;
  int         users;      /* guarded by lock */
  bool        stopping;   /* guarded by lock */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static Handle *registry;
static unsigned long unblock_generation;   /* guarded by lock */
static _Atomic (RbLogCallback) log_callback;
static atomic_ullong outstanding;
static atomic_ullong stale_handle_uses;
static atomic_ullong shutdowns;
static atomic_int hanging;

/* ---- counters the tests read (dlsym) -------------------------------- */

EXPORT uint64_t
misbehave_outstanding_buffers (void)
{
  return atomic_load (&outstanding);
}

EXPORT uint64_t
misbehave_stale_handle_uses (void)
{
  return atomic_load (&stale_handle_uses);
}

EXPORT uint64_t
misbehave_shutdowns (void)
{
  return atomic_load (&shutdowns);
}

EXPORT uint64_t
misbehave_hanging (void)
{
  return (uint64_t) atomic_load (&hanging);
}

/* ---- handles --------------------------------------------------------- */

static Handle *
handle_acquire (void *ptr)
{
  Handle *h;

  pthread_mutex_lock (&lock);
  for (h = registry; h != NULL && h != ptr; h = h->next)
    ;
  if (h != NULL && !h->stopping)
    h->users++;
  else
    {
      atomic_fetch_add (&stale_handle_uses, 1);
      h = NULL;
    }
  pthread_mutex_unlock (&lock);
  return h;
}

static void
handle_release (Handle *h)
{
  pthread_mutex_lock (&lock);
  h->users--;
  pthread_cond_broadcast (&cond);
  pthread_mutex_unlock (&lock);
}

EXPORT void *
plugin_create (void)
{
  return malloc (1);
}

EXPORT void *
plugin_init (void *plugin, const uint8_t *config, size_t config_len, RbLogCallback log_cb)
{
  bool duplicate = getenv ("RB_MISBEHAVE_DUPLICATE_HANDLE") != NULL;
  Handle *h;

  if (plugin == NULL)
    return NULL;
  free (plugin);
  atomic_store (&log_callback, log_cb);

  if (config != NULL && config_len > 0)
    {
      static const char key[] = "\"duplicate_handle\":true";
      for (size_t i = 0; i + sizeof key - 1 <= config_len; i++)
        if (memcmp (config + i, key, sizeof key - 1) == 0)
          duplicate = true;
    }

  pthread_mutex_lock (&lock);
  if (duplicate && registry != NULL)
    {
      h = registry;
      pthread_mutex_unlock (&lock);
      return h;
    }
  h = calloc (1, sizeof (Handle));
  h->next = registry;
  registry = h;
  pthread_mutex_unlock (&lock);
  return h;
}

EXPORT bool
plugin_shutdown (void *ptr)
{
  Handle **link, *h;

  pthread_mutex_lock (&lock);
  for (link = &registry; *link != NULL && *link != ptr; link = &(*link)->next)
    ;
  h = *link;
  if (h == NULL)
    {
      atomic_fetch_add (&stale_handle_uses, 1);
      pthread_mutex_unlock (&lock);
      return false;
    }
  atomic_fetch_add (&shutdowns, 1);
  *link = h->next;
  h->stopping = true;
  /* Wakes the "hang" calls of this handle, and waits for every call. */
  pthread_cond_broadcast (&cond);
  while (h->users > 0)
    pthread_cond_wait (&cond, &lock);
  pthread_mutex_unlock (&lock);
  free (h);
  atomic_store (&log_callback, NULL);
  return true;
}

EXPORT uint8_t
plugin_get_state (void *ptr)
{
  Handle *h = handle_acquire (ptr);

  if (h == NULL)
    return 255;
  handle_release (h);
  return STATE_ACTIVE;
}

EXPORT void
plugin_set_log_level (void *ptr, uint8_t level)
{
  Handle *h = handle_acquire (ptr);

  (void) level;
  if (h != NULL)
    handle_release (h);
}

EXPORT uint64_t
plugin_get_rejected_count (void *ptr)
{
  Handle *h = handle_acquire (ptr);

  if (h != NULL)
    handle_release (h);
  return 0;
}

/* Frees with the capacity the plugin handed out, as a real allocator
 * would: whatever len says. */
EXPORT void
plugin_free_buffer (RbFfiBuffer *buf)
{
  if (buf == NULL || buf->data == NULL)
    return;
  free (buf->data);
  atomic_fetch_sub (&outstanding, 1);
  buf->data = NULL;
  buf->len = buf->capacity = 0;
}

/* ---- responses ------------------------------------------------------- */

static RbFfiBuffer
take (char *data, size_t len, size_t capacity, uint32_t code)
{
  RbFfiBuffer buf = { (uint8_t *) data, len, capacity, code };

  if (data != NULL)
    atomic_fetch_add (&outstanding, 1);
  return buf;
}

static RbFfiBuffer
text (uint32_t code, const char *s, size_t len)
{
  char *copy = malloc (len ? len : 1);

  memcpy (copy, s, len);
  return take (copy, len, len, code);
}

static RbFfiBuffer
str (uint32_t code, const char *s)
{
  return text (code, s, strlen (s));
}

/* prefix, then @depth times @open, @inner, @depth times @close, suffix */
static RbFfiBuffer
nested (uint32_t code, const char *prefix, size_t depth, const char *inner, const char *suffix)
{
  size_t np = strlen (prefix), ni = strlen (inner), ns = strlen (suffix);
  size_t len = np + depth + ni + depth + ns;
  char *s = malloc (len);

  memcpy (s, prefix, np);
  memset (s + np, '[', depth);
  memcpy (s + np + depth, inner, ni);
  memset (s + np + depth + ni, ']', depth);
  memcpy (s + np + depth + ni + depth, suffix, ns);
  return take (s, len, len, code);
}

static long long
request_int (const char *req, size_t len, const char *key, long long fallback)
{
  char pattern[64];
  size_t n = (size_t) snprintf (pattern, sizeof pattern, "\"%s\":", key);

  for (size_t i = 0; req != NULL && i + n < len; i++)
    if (memcmp (req + i, pattern, n) == 0)
      {
        char tmp[32];
        size_t k = 0;

        for (i += n; i < len && k < sizeof tmp - 1 && req[i] >= '0' && req[i] <= '9'; i++)
          tmp[k++] = req[i];
        tmp[k] = '\0';
        return k > 0 ? atoll (tmp) : fallback;
      }
  return fallback;
}

static void
emit_log (uint8_t level, const char *target, const char *message, size_t len)
{
  RbLogCallback cb = atomic_load (&log_callback);

  if (cb != NULL)
    cb (level, target, (const uint8_t *) message, len);
}

typedef struct {
  long long count;
  size_t    size;
} StormJob;

static void *
storm_thread (void *data)
{
  StormJob *job = data;
  char *message = malloc (job->size ? job->size : 1);

  memset (message, 'm', job->size);
  for (long long i = 0; i < job->count; i++)
    emit_log (2, "misbehave_storm", message, job->size);
  free (message);
  return NULL;
}

static RbFfiBuffer
hang (Handle *h)
{
  unsigned long generation;

  pthread_mutex_lock (&lock);
  generation = unblock_generation;
  atomic_fetch_add (&hanging, 1);
  pthread_cond_broadcast (&cond);
  while (!h->stopping && unblock_generation == generation)
    pthread_cond_wait (&cond, &lock);
  atomic_fetch_sub (&hanging, 1);
  pthread_mutex_unlock (&lock);
  return str (11, "hang interrupted");
}

/* Recursion the compiler cannot turn into a loop; it stops only at a
 * depth no stack holds (the limit is read at run time). */
static volatile int depth_sink;
static volatile long long depth_limit = 1LL << 40;

static int
recurse_deep (long long depth)
{
  volatile char frame[1024];

  frame[0] = (char) depth;
  depth_sink = frame[0];
  if (depth >= depth_limit)
    return 0;
  return recurse_deep (depth + 1) + frame[0];
}

static RbFfiBuffer
alloc_huge (const char *req, size_t len)
{
  size_t mb = (size_t) request_int (req, len, "mb", 4096);
  char *block = malloc (mb << 20);

  if (block == NULL)
    abort ();
  for (size_t i = 0; i < (mb << 20); i += 4096)
    block[i] = 1;
  free (block);
  return str (0, "{\"status\":\"success\",\"payload\":null}");
}

/* The string value of "key":"..." in @req (no escapes), or NULL. */
static char *
request_str (const char *req, size_t len, const char *key)
{
  char pattern[64];
  size_t n = (size_t) snprintf (pattern, sizeof pattern, "\"%s\":\"", key);

  for (size_t i = 0; req != NULL && i + n < len; i++)
    if (memcmp (req + i, pattern, n) == 0)
      {
        const char *start = req + i + n;
        const char *end = memchr (start, '"', len - i - n);
        char *value;

        if (end == NULL)
          return NULL;
        value = malloc ((size_t) (end - start) + 1);
        memcpy (value, start, (size_t) (end - start));
        value[end - start] = '\0';
        return value;
      }
  return NULL;
}

/* Whether creating (then removing) a file in @dir works; errno in *@err. */
static bool
probe_write (const char *dir, int *err)
{
  char path[4096];
  int fd;

  *err = 0;
  if (dir == NULL)
    {
      *err = EINVAL;
      return false;
    }
  snprintf (path, sizeof path, "%s/sandbox-probe-%ld", dir, (long) getpid ());
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      *err = errno;
      return false;
    }
  close (fd);
  unlink (path);
  return true;
}

static RbFfiBuffer
sandbox_probe (const char *req, size_t len)
{
  char *read_path = request_str (req, len, "read");
  char *write_dir = request_str (req, len, "write_dir");
  int inet_err = 0, read_err = 0, write_err = 0, tmp_err = 0;
  bool inet, readable, writable, tmp;
  char out[512];
  int fd;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  inet = fd >= 0;
  if (fd >= 0)
    close (fd);
  else
    inet_err = errno;

  fd = read_path != NULL ? open (read_path, O_RDONLY | O_CLOEXEC) : -1;
  readable = false;
  if (fd >= 0)
    {
      char c;
      readable = read (fd, &c, 1) == 1;
      if (!readable)
        read_err = errno;
      close (fd);
    }
  else
    read_err = read_path != NULL ? errno : EINVAL;

  writable = probe_write (write_dir, &write_err);
  tmp = probe_write ("/tmp", &tmp_err);
  free (read_path);
  free (write_dir);

  snprintf (out, sizeof out,
            "{\"status\":\"success\",\"payload\":{\"inet\":%s,\"read\":%s,\"write\":%s,\"tmp\":%s,"
            "\"errors\":{\"inet\":%d,\"read\":%d,\"write\":%d,\"tmp\":%d}}}",
            inet ? "true" : "false", readable ? "true" : "false", writable ? "true" : "false",
            tmp ? "true" : "false", inet_err, read_err, write_err, tmp_err);
  return str (0, out);
}

static RbFfiBuffer
handle_message (Handle *h, const char *tag, const char *req, size_t len)
{
  if (strcmp (tag, "ok") == 0)
    return str (0, "{\"status\":\"success\",\"payload\":{\"ok\":true}}");
  if (strcmp (tag, "len.gt.capacity") == 0)
    {
      char *data = malloc (16);
      memcpy (data, "{\"status\":\"succ", 16);
      return take (data, 1 << 20, 16, 0);
    }
  if (strcmp (tag, "null.data") == 0)
    return take (NULL, 100, 0, 0);
  if (strcmp (tag, "null.data.error") == 0)
    return take (NULL, 100, 0, 7);
  if (strcmp (tag, "unknown.code") == 0)
    return str (4242, "{\"status\":\"error\",\"error_code\":4242,\"error_message\":\"strange\"}");
  if (strcmp (tag, "unknown.code.text") == 0)
    return str (4242, "strange plain text");
  if (strcmp (tag, "utf8.payload") == 0)
    return str (0, "{\"status\":\"success\",\"payload\":\"bad \xff\xfe byte\"}");
  if (strcmp (tag, "utf8.error.text") == 0)
    return str (7, "bad \xff\xfe text");
  if (strcmp (tag, "utf8.error.envelope") == 0)
    return str (7, "{\"status\":\"error\",\"error_code\":7,\"error_message\":\"bad \xc3\x28 text\"}");
  if (strcmp (tag, "deep.success") == 0)
    return nested (0, "{\"status\":\"success\",\"payload\":", 200000, "", "}");
  if (strcmp (tag, "deep.error") == 0)
    return nested (7, "{\"status\":\"error\",\"error_code\":7,\"error_message\":\"deep\",\"extra\":",
                   200000, "", "}");
  if (strcmp (tag, "deep.error.message") == 0)
    return nested (7, "{\"status\":\"error\",\"error_code\":7,\"error_message\":", 200000, "", "}");
  if (strcmp (tag, "deep.payload.512") == 0)
    return nested (0, "{\"status\":\"success\",\"payload\":", 512, "", "}");
  if (strcmp (tag, "huge") == 0)
    {
      static const char head[] = "{\"status\":\"success\",\"payload\":\"";
      size_t size = (size_t) request_int (req, len, "size", 200 * 1000 * 1000);
      size_t n = sizeof head - 1 + size + 2;
      char *data = malloc (n);

      if (data == NULL)
        return str (8, "out of memory");
      memcpy (data, head, sizeof head - 1);
      memset (data + sizeof head - 1, 'x', size);
      memcpy (data + sizeof head - 1 + size, "\"}", 2);
      return take (data, n, n, 0);
    }
  if (strcmp (tag, "internal") == 0)
    return str (11, "internal error on purpose");
  if (strcmp (tag, "hang") == 0)
    return hang (h);
  if (strcmp (tag, "unblock") == 0)
    {
      pthread_mutex_lock (&lock);
      unblock_generation++;
      pthread_cond_broadcast (&cond);
      pthread_mutex_unlock (&lock);
      return str (0, "{\"status\":\"success\",\"payload\":null}");
    }
  if (strcmp (tag, "log.null") == 0)
    {
      emit_log (2, "misbehave_null", NULL, 5);
      emit_log (2, NULL, "null target", 11);
      emit_log (2, NULL, NULL, 0);
      return str (0, "{\"status\":\"success\",\"payload\":null}");
    }
  if (strcmp (tag, "log.huge") == 0)
    {
      size_t size = (size_t) request_int (req, len, "size", 16 << 20);
      char *message = malloc (size ? size : 1);

      memset (message, 'h', size);
      emit_log (2, "misbehave_huge", message, size);
      free (message);
      return str (0, "{\"status\":\"success\",\"payload\":null}");
    }
  if (strcmp (tag, "log.utf8") == 0)
    {
      emit_log (2, "misbehave_\xff", "bad \xff\xfe message", 15);
      return str (0, "{\"status\":\"success\",\"payload\":null}");
    }
  if (strcmp (tag, "log.storm") == 0)
    {
      long long threads = request_int (req, len, "threads", 4);
      StormJob job = { request_int (req, len, "count", 1000),
                       (size_t) request_int (req, len, "size", 256 * 1024) };
      pthread_t tids[64];

      if (threads > 64)
        threads = 64;
      for (long long i = 0; i < threads; i++)
        pthread_create (&tids[i], NULL, storm_thread, &job);
      for (long long i = 0; i < threads; i++)
        pthread_join (tids[i], NULL);
      return str (0, "{\"status\":\"success\",\"payload\":null}");
    }
  if (strcmp (tag, "exit") == 0)
    _exit (3);
  if (strcmp (tag, "abort") == 0)
    abort ();
  if (strcmp (tag, "segv") == 0 || strcmp (tag, "crash.segv") == 0)
    raise (SIGSEGV);
  if (strcmp (tag, "crash.abort") == 0)
    abort ();
  if (strcmp (tag, "crash.exit") == 0)
    _exit (3);
  if (strcmp (tag, "crash.stack_overflow") == 0)
    depth_sink = recurse_deep (0);
  if (strcmp (tag, "alloc.huge") == 0)
    return alloc_huge (req, len);
  if (strcmp (tag, "sandbox.probe") == 0)
    return sandbox_probe (req, len);
  if (strcmp (tag, "sandbox.pid") == 0)
    {
      char out[128];
      snprintf (out, sizeof out, "{\"status\":\"success\",\"payload\":{\"pid\":%ld,\"ppid\":%ld}}",
                (long) getpid (), (long) getppid ());
      return str (0, out);
    }
  return str (6, "{\"status\":\"error\",\"error_code\":6,\"error_message\":\"unknown message type\"}");
}

EXPORT RbFfiBuffer
plugin_call (void *ptr, const char *type_tag, const uint8_t *request, size_t request_len)
{
  Handle *h = handle_acquire (ptr);
  RbFfiBuffer result;

  if (h == NULL)
    return str (1, "Invalid handle");
  result = handle_message (h, type_tag, (const char *) request, request ? request_len : 0);
  handle_release (h);
  return result;
}

/* ---- binary transport ------------------------------------------------ */

static RbResponse
raw_take (uint32_t code, void *data, uint32_t len, uint32_t capacity)
{
  RbResponse resp = { code, len, capacity, data };

  if (data != NULL)
    atomic_fetch_add (&outstanding, 1);
  return resp;
}

static RbResponse
raw_text (uint32_t code, const char *s)
{
  size_t n = strlen (s) + 1;
  char *copy = malloc (n);

  memcpy (copy, s, n);
  return raw_take (code, copy, (uint32_t) n, (uint32_t) n);
}

EXPORT RbResponse
plugin_call_raw (void *ptr, uint32_t message_id, const void *request, size_t request_size)
{
  Handle *h = handle_acquire (ptr);
  RbResponse resp;

  (void) request;
  (void) request_size;
  if (h == NULL)
    return raw_text (1, "Invalid handle");
  switch (message_id)
    {
    case 1:
      resp = raw_take (0, calloc (1, 16), 16, 16);
      break;
    case 2:
      resp = raw_take (0, calloc (1, 16), 1 << 20, 16);
      break;
    case 3:
      resp = raw_take (0, NULL, 64, 0);
      break;
    case 4:
      resp = raw_take (7, NULL, 64, 0);
      break;
    case 5:
      resp = raw_text (7, "bad \xff\xfe text");
      break;
    case 6:
      resp = raw_text (4242, "strange");
      break;
    case 7:
      {
        char *s = malloc (8);
        memcpy (s, "overrun", 8);
        resp = raw_take (7, s, 1 << 20, 8);
      }
      break;
    default:
      resp = raw_text (6, "Unknown message ID");
      break;
    }
  handle_release (h);
  return resp;
}

EXPORT void
rb_response_free (RbResponse *resp)
{
  if (resp == NULL || resp->data == NULL)
    return;
  free (resp->data);
  atomic_fetch_sub (&outstanding, 1);
  resp->data = NULL;
  resp->len = resp->capacity = 0;
}
