/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A deterministic rustbridge plugin in plain C for the tests: the ABI of
 * doc/plugin-abi.md (including its library-global quirks), a message set that
 * covers every response form, and deliberately malformed responses.
 * Not a model of good JSON handling: requests are read with a few ad-hoc
 * helpers that understand only what the tests send.
 *
 * Built with plugin_create_with_config (like a plugin declared with a
 * factory) unless FIXTURE_NO_CREATE_WITH_CONFIG is defined: the config's
 * `data` reaches the factory only through it ("factory.data" tells what the
 * factory saw).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test-plugin-abi.h"

#include "fixture-raw.h"

#ifndef FIXTURE_VERSION
#define FIXTURE_VERSION 1
#endif
#define FIXTURE_STR_(x) #x
#define FIXTURE_STR(x) FIXTURE_STR_ (x)


enum { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
enum { STATE_INSTALLED, STATE_STARTING, STATE_ACTIVE, STATE_STOPPING, STATE_STOPPED, STATE_FAILED };

typedef struct Handle Handle;
struct Handle {
  Handle          *next;
  atomic_int       state;
  atomic_int       in_flight;      /* plugin_call only (the concurrency limit) */
  int              users;          /* guarded by registry_lock */
  long             max_ops;
  atomic_ullong    rejected;
  atomic_ullong    calls;
  char            *factory_data;   /* the `data` the factory saw, or NULL */
};

typedef struct {
  char *factory_data;  /* JSON text of the config's `data` at creation, or NULL */
} Plugin;

/* Library-global state, as in real plugins. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t registry_cond = PTHREAD_COND_INITIALIZER;
static Handle *registry;
static _Atomic (RbLogCallback) log_callback;
/* The log filter: as the framework's tracing filter, built from the
 * config at the first plugin_init of the library only, and changed after
 * that only by plugin_set_log_level. */
static atomic_int log_level = LOG_INFO;
static atomic_bool log_filter_built;
static atomic_bool raw_handlers;
static atomic_ullong outstanding;
static atomic_ullong total_calls;
/* Uses of a handle that is not (or no longer) registered: a host that
 * never touches a stale handle keeps this at 0. */
static atomic_ullong stale_handle_uses;
static atomic_bool create_fails;
static atomic_bool create_fails_once;
static atomic_ullong creations_with_config;
static atomic_ullong log_level_sets;
/* What a Rust Vec::leak of an empty vector gives: not NULL, never read. */
#define DANGLING ((void *) alignof (max_align_t))

static const char *level_names[] = { "trace", "debug", "info", "warn", "error", "off" };

/* ---- helpers ---------------------------------------------------------- */

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}

static void __attribute__ ((format (printf, 2, 3)))
plugin_log (int level, const char *fmt, ...)
{
  RbLogCallback cb = atomic_load (&log_callback);
  char buf[512];
  va_list ap;
  int n;

  if (cb == NULL || level < atomic_load (&log_level))
    return;
  va_start (ap, fmt);
  n = vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if ((size_t) n >= sizeof buf)
    n = sizeof buf - 1;
  cb ((uint8_t) level, "fixture_plugin", (const uint8_t *) buf, (size_t) n);
}

static RbFfiBuffer
buffer_take (char *data, size_t len, uint32_t code)
{
  RbFfiBuffer buf = { (uint8_t *) data, len, len, code };
  if (data != NULL)
    atomic_fetch_add (&outstanding, 1);
  return buf;
}

static RbFfiBuffer
buffer_bytes (const char *data, size_t len, uint32_t code)
{
  char *copy = malloc (len ? len : 1);
  memcpy (copy, data, len);
  return buffer_take (copy, len, code);
}

static RbFfiBuffer __attribute__ ((format (printf, 2, 3)))
buffer_printf (uint32_t code, const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (NULL, 0, fmt, ap);
  va_end (ap);
  s = malloc ((size_t) n + 1);
  va_start (ap, fmt);
  vsnprintf (s, (size_t) n + 1, fmt, ap);
  va_end (ap);
  return buffer_take (s, (size_t) n, code);
}

static RbFfiBuffer
success (const char *payload)
{
  return buffer_printf (0, "{\"status\":\"success\",\"payload\":%s}", payload);
}

static RbFfiBuffer
failure (uint32_t code, const char *message)
{
  return buffer_printf (code, "{\"status\":\"error\",\"error_code\":%u,\"error_message\":\"%s\"}",
                        code, message);
}

/* Balanced braces and brackets outside strings, starting with '{'. */
static bool
looks_like_object (const char *s, size_t len)
{
  int depth = 0;
  bool in_string = false;
  size_t i = 0;

  while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
    i++;
  if (i >= len || s[i] != '{')
    return false;
  for (; i < len; i++)
    {
      char c = s[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = false;
          continue;
        }
      if (c == '"')
        in_string = true;
      else if (c == '{' || c == '[')
        depth++;
      else if (c == '}' || c == ']')
        {
          if (--depth < 0)
            return false;
        }
      else if (depth == 0 && c != ' ' && c != '\n' && c != '\t' && c != '\r')
        return false;
    }
  return depth == 0 && !in_string;
}

/* Finds "key": in s and returns the start of its value, or NULL. */
static const char *
find_member (const char *s, size_t len, const char *key)
{
  size_t klen = strlen (key);
  const char *end = s + len;

  for (const char *p = s; p + klen + 2 < end; p++)
    {
      if (p[0] == '"' && memcmp (p + 1, key, klen) == 0 && p[klen + 1] == '"')
        {
          const char *v = p + klen + 2;
          while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
            v++;
          if (v < end && *v == ':')
            {
              v++;
              while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
                v++;
              return v < end ? v : NULL;
            }
        }
    }
  return NULL;
}

static bool
member_int (const char *s, size_t len, const char *key, long long *out)
{
  const char *v = find_member (s, len, key);
  char tmp[32];
  size_t n = 0;
  char *endp;

  if (v == NULL)
    return false;
  while (v + n < s + len && n < sizeof tmp - 1 && (v[n] == '-' || (v[n] >= '0' && v[n] <= '9')))
    {
      tmp[n] = v[n];
      n++;
    }
  if (n == 0)
    return false;
  tmp[n] = '\0';
  *out = strtoll (tmp, &endp, 10);
  return *endp == '\0';
}

static bool
member_true (const char *s, size_t len, const char *key)
{
  const char *v = find_member (s, len, key);
  return v != NULL && (size_t) (s + len - v) >= 4 && memcmp (v, "true", 4) == 0;
}

/* A JSON string member: returns the raw (still escaped) text between the
 * quotes, and the byte length of the decoded string. */
static bool
member_string (const char *s, size_t len, const char *key,
               const char **raw, size_t *raw_len, size_t *decoded_len)
{
  const char *v = find_member (s, len, key);
  const char *end = s + len;
  size_t n = 0;

  if (v == NULL || *v != '"')
    return false;
  *raw = ++v;
  while (v < end && *v != '"')
    {
      if (*v == '\\')
        {
          if (v + 1 >= end)
            return false;
          if (v[1] == 'u')
            {
              unsigned cp;
              if (end - v < 6 || sscanf (v + 2, "%4x", &cp) != 1)
                return false;
              n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : (cp >= 0xd800 && cp < 0xdc00) ? 4 : (cp >= 0xdc00 && cp < 0xe000) ? 0 : 3;
              v += 6;
              continue;
            }
          v += 2;
          n++;
          continue;
        }
      v++;
      n++;
    }
  if (v >= end)
    return false;
  *raw_len = (size_t) (v - *raw);
  *decoded_len = n;
  return true;
}

static int
parse_level (const char *raw, size_t len)
{
  for (int i = 0; i <= LOG_OFF; i++)
    if (strlen (level_names[i]) == len && memcmp (raw, level_names[i], len) == 0)
      return i;
  return -1;
}

/* The end of the JSON value at @v (an object, array, string or scalar), as
 * far as these helpers understand JSON. */
static __attribute__ ((unused)) const char *
value_end (const char *v, const char *end)
{
  int depth = 0;
  bool in_string = false;
  const char *p = v;

  for (; p < end; p++)
    {
      char c = *p;
      if (in_string)
        {
          if (c == '\\')
            p++;
          else if (c == '"')
            {
              in_string = false;
              if (depth == 0)
                return p + 1;
            }
          continue;
        }
      if (c == '"')
        in_string = true;
      else if (c == '{' || c == '[')
        depth++;
      else if (c == '}' || c == ']')
        {
          if (depth == 0)
            return p;
          if (--depth == 0)
            return p + 1;
        }
      else if (depth == 0 && (c == ',' || c == ' ' || c == '\n'))
        return p;
    }
  return p;
}

/* Reads the config as rustbridge 0.9.1 and later do: an unknown log_level
 * name makes the whole config invalid (-2); otherwise the level, or -1 if
 * none is given. */
static int
config_level (const char *config, size_t len)
{
  const char *raw;
  size_t raw_len, decoded;
  int level;

  if (!member_string (config, len, "log_level", &raw, &raw_len, &decoded))
    return -1;
  level = parse_level (raw, raw_len);
  return level < 0 ? -2 : level;
}

/* ---- handles ---------------------------------------------------------- */

static Handle *
handle_acquire (void *ptr)
{
  Handle *h;

  pthread_mutex_lock (&registry_lock);
  for (h = registry; h != NULL && h != ptr; h = h->next)
    ;
  if (h != NULL)
    h->users++;
  else
    atomic_fetch_add (&stale_handle_uses, 1);
  pthread_mutex_unlock (&registry_lock);
  return h;
}

static void
handle_release (Handle *h)
{
  pthread_mutex_lock (&registry_lock);
  h->users--;
  pthread_cond_broadcast (&registry_cond);
  pthread_mutex_unlock (&registry_lock);
}

/* The factory sees the default config (data null). */
EXPORT void *
plugin_create (void)
{
  if (atomic_load (&create_fails))
    return NULL;
  /* One failure asked for: the next instance only. */
  if (atomic_exchange (&create_fails_once, false))
    return NULL;
  return calloc (1, sizeof (Plugin));
}

/* Makes the next plugin_create() of this library (only) fail. */
EXPORT void
fixture_fail_next_create (void)
{
  atomic_store (&create_fails_once, true);
}

/* Makes the factory fail (the create functions return NULL) while @fail. */
EXPORT void
fixture_set_create_fails (bool fail)
{
  atomic_store (&create_fails, fail);
}

EXPORT uint64_t
fixture_creations_with_config (void)
{
  return atomic_load (&creations_with_config);
}

EXPORT uint64_t
fixture_log_level_sets (void)
{
  return atomic_load (&log_level_sets);
}

/* Logs from whatever thread calls it, outside any call (as a plugin's
 * runtime thread does): tests reach it through GModule. */
EXPORT void
fixture_log_now (int level, const char *text)
{
  plugin_log (level, "%s", text);
}

EXPORT uint64_t
fixture_log_level (void)
{
  return (uint64_t) atomic_load (&log_level);
}

#ifndef FIXTURE_NO_CREATE_WITH_CONFIG
/* As a factory plugin: NULL for a config that is not valid (not an
 * object, an unknown log_level) and when the factory fails (`data` says
 * "create_fail": true). */
EXPORT void *
plugin_create_with_config (const uint8_t *json, size_t len)
{
  const char *config = (const char *) json;
  Plugin *plugin;
  const char *data;

  atomic_fetch_add (&creations_with_config, 1);
  if (config == NULL || len == 0)
    return plugin_create ();
  if (!looks_like_object (config, len) || config_level (config, len) == -2)
    return NULL;
  if (atomic_load (&create_fails))
    return NULL;
  if (atomic_exchange (&create_fails_once, false))
    return NULL;
  plugin = calloc (1, sizeof (Plugin));
  data = find_member (config, len, "data");
  if (data != NULL)
    {
      const char *end = value_end (data, config + len);

      if (member_true (data, (size_t) (end - data), "create_fail"))
        {
          free (plugin);
          return NULL;
        }
      plugin->factory_data = strndup (data, (size_t) (end - data));
    }
  return plugin;
}
#endif

EXPORT void *
plugin_init (void *plugin_ptr, const uint8_t *config_json, size_t config_len, RbLogCallback log_cb)
{
  Plugin *plugin = plugin_ptr;
  const char *config = (const char *) config_json;
  Handle *h;
  long long v;
  int level;

  if (plugin == NULL)
    return NULL;

  /* As the framework does: the callback is installed before the config
   * is read, and stays installed if plugin_init fails. */
  if (log_cb != NULL)
    atomic_store (&log_callback, log_cb);

  if (config != NULL && config_len > 0 &&
      (!looks_like_object (config, config_len) || config_level (config, config_len) == -2))
    {
      free (plugin->factory_data);
      free (plugin);
      return NULL;
    }

  h = calloc (1, sizeof (Handle));
  h->max_ops = 1000;
  h->factory_data = plugin->factory_data;
  if (config != NULL && config_len > 0)
    {
      level = config_level (config, config_len);
      if (!atomic_exchange (&log_filter_built, true))
        atomic_store (&log_level, level >= 0 ? level : LOG_INFO);
      /* 0 means no limit. */
      if (member_int (config, config_len, "max_concurrent_ops", &v) && v >= 0)
        h->max_ops = (long) v;
      if (member_true (config, config_len, "fail_init"))
        {
          free (h->factory_data);
          free (h);
          free (plugin);
          return NULL;
        }
      if (member_int (config, config_len, "startup_delay_ms", &v) && v > 0)
        {
          atomic_store (&h->state, STATE_STARTING);
          sleep_ms ((long) v);
        }
    }
  free (plugin);

  atomic_store (&h->state, STATE_ACTIVE);
  atomic_store (&raw_handlers, true);
  pthread_mutex_lock (&registry_lock);
  h->next = registry;
  registry = h;
  pthread_mutex_unlock (&registry_lock);

  plugin_log (LOG_INFO, "fixture plugin started");
  return h;
}

EXPORT bool
plugin_shutdown (void *ptr)
{
  Handle **link, *h;
  struct timespec deadline;

  pthread_mutex_lock (&registry_lock);
  for (link = &registry; *link != NULL && *link != ptr; link = &(*link)->next)
    ;
  h = *link;
  if (h == NULL)
    {
      atomic_fetch_add (&stale_handle_uses, 1);
      pthread_mutex_unlock (&registry_lock);
      return false;
    }
  atomic_store (&h->state, STATE_STOPPING);
  *link = h->next;
  /* Wait (up to 5 s) for calls that already hold the handle. */
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  while (h->users > 0)
    if (pthread_cond_timedwait (&registry_cond, &registry_lock, &deadline) == ETIMEDOUT)
      break;
  pthread_mutex_unlock (&registry_lock);

  atomic_store (&h->state, STATE_STOPPED);
  /* Library-global side effects of any shutdown (doc/plugin-abi.md). */
  atomic_store (&log_callback, NULL);
  atomic_store (&raw_handlers, false);
  if (h->users == 0)
    {
      free (h->factory_data);
      free (h);
    }
  /* else: leaked on purpose rather than freed under a running call */
  return true;
}

EXPORT uint8_t
plugin_get_state (void *ptr)
{
  Handle *h = handle_acquire (ptr);
  uint8_t state;

  if (h == NULL)
    return 255;
  state = (uint8_t) atomic_load (&h->state);
  handle_release (h);
  return state;
}

EXPORT void
plugin_set_log_level (void *ptr, uint8_t level)
{
  Handle *h = handle_acquire (ptr);

  /* Unknown handle: ignored. Above 5: off. */
  if (h == NULL)
    return;
  atomic_fetch_add (&log_level_sets, 1);
  atomic_store (&log_level, level <= LOG_OFF ? level : LOG_OFF);
  handle_release (h);
}

EXPORT uint64_t
plugin_get_rejected_count (void *ptr)
{
  Handle *h = handle_acquire (ptr);
  uint64_t n;

  if (h == NULL)
    return 0;
  n = atomic_load (&h->rejected);
  handle_release (h);
  return n;
}

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

EXPORT uint64_t
fixture_outstanding_buffers (void)
{
  return atomic_load (&outstanding);
}

EXPORT uint64_t
fixture_stale_handle_uses (void)
{
  return atomic_load (&stale_handle_uses);
}

EXPORT uint64_t
fixture_total_calls (void)
{
  return atomic_load (&total_calls);
}

EXPORT uint64_t
plugin_call_async (void *handle, const char *tag, const uint8_t *req, size_t len)
{
  (void) handle; (void) tag; (void) req; (void) len;
  return 0;
}

EXPORT bool
plugin_cancel_async (void *handle, uint64_t id)
{
  (void) handle; (void) id;
  return false;
}

/* ---- messages --------------------------------------------------------- */

typedef struct {
  int   count;
  int   level;
  char  text[128];
} LogJob;

static void *
log_thread (void *data)
{
  LogJob *job = data;
  for (int i = 0; i < job->count; i++)
    plugin_log (job->level, "%s %d", job->text, i);
  return NULL;
}

static RbFfiBuffer
handle_message (Handle *h, const char *tag, const char *req, size_t len)
{
  long long a, b, v;
  const char *raw;
  size_t raw_len, decoded;

  if (strcmp (tag, "payload.empty_request") == 0)
    {
      char payload[64];
      snprintf (payload, sizeof payload, "{\"request_len\":%zu}", len);
      return success (payload);
    }
  if (strcmp (tag, "panic") == 0)
    {
      atomic_store (&h->state, STATE_FAILED);
      return buffer_bytes ("Plugin panicked: simulated panic", 32, 11);
    }
  if (strcmp (tag, "handler.fail") == 0)
    return failure (7, "handler failed on purpose");
  /* The request as the payload (it must look like an object). */
  if (strcmp (tag, "echo.raw") == 0)
    {
      if (!looks_like_object (req, len))
        return failure (5, "invalid request JSON");
      return buffer_printf (0, "{\"status\":\"success\",\"payload\":%.*s}", (int) len, req);
    }
  if (strcmp (tag, "factory.data") == 0)
    return buffer_printf (0, "{\"status\":\"success\",\"payload\":{\"data\":%s}}",
                          h->factory_data != NULL ? h->factory_data : "null");
  /* The fourth response form: a result that does not serialise. */
  if (strcmp (tag, "serialization.plain") == 0)
    return buffer_printf (5, "Serialization error: expected value at line 1 column 1");
  /* Envelopes with the optional request_id, as serde writes them. */
  if (strcmp (tag, "envelope.request_id") == 0)
    return buffer_printf (0, "{\"status\":\"success\",\"payload\":{\"x\":1},"
                          "\"request_id\":18446744073709551615}");
  if (strcmp (tag, "error.request_id") == 0)
    return buffer_printf (7, "{\"status\":\"error\",\"error_code\":7,"
                          "\"error_message\":\"handler error: name is required\","
                          "\"request_id\":18446744073709551615}");
  /* Which build answers (the reload tests tell two builds apart). */
  if (strcmp (tag, "fixture.version") == 0)
    return success ("{\"version\":" FIXTURE_STR (FIXTURE_VERSION) "}");
  if (strcmp (tag, "counter.calls") == 0)
    {
      char payload[64];
      snprintf (payload, sizeof payload, "{\"calls\":%llu}", (unsigned long long) atomic_load (&h->calls));
      return success (payload);
    }
  if (strcmp (tag, "payload.string") == 0)
    return success ("\"hello\"");
  if (strcmp (tag, "payload.null") == 0)
    return success ("null");
  if (strcmp (tag, "payload.array") == 0)
    return success ("[1,2,3]");
  if (strcmp (tag, "payload.number") == 0)
    return success ("42.5");
  if (strcmp (tag, "payload.nested") == 0)
    return success ("{\"a\":{\"b\":[true,false,null,\"x\\\"y\\u00e9\"]}}");
  if (strcmp (tag, "whitespace.envelope") == 0)
    return buffer_printf (0, "{ \"status\" : \"success\", \"payload\" : {\"x\": 1} }");
  if (strcmp (tag, "reordered.envelope") == 0)
    return buffer_printf (0, "{\"payload\":{\"x\":1},\"status\":\"success\"}");
  if (strcmp (tag, "bad.notjson") == 0)
    return buffer_printf (0, "this is not json");
  if (strcmp (tag, "bad.missing_payload") == 0)
    return buffer_printf (0, "{\"status\":\"success\"}");
  if (strcmp (tag, "bad.truncated") == 0)
    return buffer_printf (0, "{\"status\":\"success\",\"payload\":{\"a\":1");
  if (strcmp (tag, "bad.nul") == 0)
    {
      static const char nul[] = "{\"status\":\"success\",\"payload\":\"a\0b\"}";
      return buffer_bytes (nul, sizeof nul - 1, 0);
    }
  if (strcmp (tag, "bad.trailing") == 0)
    return buffer_printf (0, "{\"status\":\"success\",\"payload\":1}garbage");
  if (strcmp (tag, "bad.status") == 0)
    return buffer_printf (0, "{\"status\":\"weird\",\"payload\":1}");
  if (strcmp (tag, "bad.empty") == 0)
    return buffer_take (NULL, 0, 0);
  if (strcmp (tag, "bad.error_no_message") == 0)
    return buffer_printf (7, "{\"status\":\"error\",\"error_code\":7}");
  if (strcmp (tag, "bad.error_code_mismatch") == 0)
    return buffer_printf (7, "{\"status\":\"error\",\"error_code\":9,\"error_message\":\"mismatch\"}");
  if (strcmp (tag, "bad.unknown_code") == 0)
    return failure (42, "strange");
  if (strcmp (tag, "bad.invalid_utf8") == 0)
    return buffer_bytes ("bad \xff byte", 10, 7);

  /* The rest read a JSON object request. */
  if (strcmp (tag, "echo") == 0 || strcmp (tag, "math.add") == 0 || strcmp (tag, "test.sleep") == 0 ||
      strcmp (tag, "log.emit") == 0 || strcmp (tag, "payload.huge") == 0)
    {
      if (!looks_like_object (req, len))
        return failure (5, "invalid request JSON");
    }
  else
    {
      char message[256];
      snprintf (message, sizeof message, "unknown message type: %.200s", tag);
      return failure (6, message);
    }

  if (strcmp (tag, "echo") == 0)
    {
      if (!member_string (req, len, "message", &raw, &raw_len, &decoded))
        return failure (5, "missing field `message`");
      return buffer_printf (0, "{\"status\":\"success\",\"payload\":{\"message\":\"%.*s\",\"length\":%zu}}",
                            (int) raw_len, raw, decoded);
    }
  if (strcmp (tag, "math.add") == 0)
    {
      char payload[64];
      if (!member_int (req, len, "a", &a) || !member_int (req, len, "b", &b))
        return failure (5, "missing field `a` or `b`");
      snprintf (payload, sizeof payload, "{\"result\":%lld}", a + b);
      return success (payload);
    }
  if (strcmp (tag, "test.sleep") == 0)
    {
      char payload[64];
      if (!member_int (req, len, "duration_ms", &v) || v < 0)
        return failure (5, "missing field `duration_ms`");
      sleep_ms ((long) v);
      /* "report_version": 1 adds which build served the call (reload tests). */
      if (member_int (req, len, "report_version", &a) && a != 0)
        snprintf (payload, sizeof payload, "{\"slept_ms\":%lld,\"version\":" FIXTURE_STR (FIXTURE_VERSION) "}", v);
      else
        snprintf (payload, sizeof payload, "{\"slept_ms\":%lld}", v);
      return success (payload);
    }
  if (strcmp (tag, "payload.huge") == 0)
    {
      char *data;
      size_t n, prefix;
      static const char head[] = "{\"status\":\"success\",\"payload\":\"";
      if (!member_int (req, len, "size", &v) || v < 0 || v > (1LL << 30))
        return failure (5, "missing field `size`");
      prefix = sizeof head - 1;
      n = prefix + (size_t) v + 2;
      data = malloc (n);
      memcpy (data, head, prefix);
      memset (data + prefix, 'x', (size_t) v);
      data[prefix + (size_t) v] = '"';
      data[prefix + (size_t) v + 1] = '}';
      return buffer_take (data, n, 0);
    }
  /* log.emit */
  {
    LogJob job = { 1, LOG_INFO, "log.emit" };
    char payload[64];

    if (member_int (req, len, "count", &v))
      job.count = (int) v;
    if (member_string (req, len, "level", &raw, &raw_len, &decoded) &&
        parse_level (raw, raw_len) >= 0)
      job.level = parse_level (raw, raw_len);
    if (member_string (req, len, "message", &raw, &raw_len, &decoded))
      snprintf (job.text, sizeof job.text, "%.*s", (int) raw_len, raw);
    if (member_true (req, len, "thread"))
      {
        pthread_t thread;
        pthread_create (&thread, NULL, log_thread, &job);
        pthread_join (thread, NULL);
      }
    else
      log_thread (&job);
    snprintf (payload, sizeof payload, "{\"emitted\":%d}", job.count);
    return success (payload);
  }
}

EXPORT RbFfiBuffer
plugin_call (void *ptr, const char *type_tag, const uint8_t *request, size_t request_len)
{
  Handle *h;
  RbFfiBuffer result;

  atomic_fetch_add (&total_calls, 1);
  h = handle_acquire (ptr);
  if (h == NULL)
    return buffer_bytes ("Invalid handle", 14, 1);
  if (type_tag == NULL)
    {
      handle_release (h);
      return buffer_bytes ("Invalid type tag", 16, 4);
    }
  if (atomic_load (&h->state) != STATE_ACTIVE)
    {
      handle_release (h);
      return failure (1, "Plugin is not active");
    }
  if (atomic_fetch_add (&h->in_flight, 1) >= h->max_ops && h->max_ops > 0)
    {
      atomic_fetch_sub (&h->in_flight, 1);
      atomic_fetch_add (&h->rejected, 1);
      handle_release (h);
      return failure (13, "too many concurrent requests");
    }
  atomic_fetch_add (&h->calls, 1);
  result = handle_message (h, type_tag, (const char *) request, request ? request_len : 0);
  atomic_fetch_sub (&h->in_flight, 1);
  handle_release (h);
  return result;
}

/* ---- binary transport ------------------------------------------------- */

#ifndef FIXTURE_NO_RAW

static RbResponse __attribute__ ((format (printf, 2, 3)))
raw_error (uint32_t code, const char *fmt, ...)
{
  RbResponse resp = { code, 0, 0, NULL };
  char text[128];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (text, sizeof text, fmt, ap);
  va_end (ap);
  if (n < 0)
    n = 0;
  if ((size_t) n >= sizeof text)
    n = sizeof text - 1;
  resp.data = malloc ((size_t) n + 1);
  memcpy (resp.data, text, (size_t) n + 1);
  resp.len = resp.capacity = (uint32_t) n + 1;
  atomic_fetch_add (&outstanding, 1);
  return resp;
}

EXPORT RbResponse
plugin_call_raw (void *ptr, uint32_t message_id, const void *request, size_t request_size)
{
  Handle *h = handle_acquire (ptr);
  RbResponse resp = { 0, 0, 0, NULL };

  if (h == NULL)
    return raw_error (1, "Invalid handle");
  if (atomic_load (&h->state) != STATE_ACTIVE)
    resp = raw_error (1, "Plugin is not active");
  else if (!atomic_load (&raw_handlers) || message_id < 1 || message_id > 4)
    resp = raw_error (6, "Unknown message ID: %u", message_id);
  else if (message_id == 3)
    {
      /* An empty success, as a leaked empty Rust Vec gives it. */
      resp.data = DANGLING;
      atomic_fetch_add (&outstanding, 1);
    }
  else if (message_id == 4)
    resp = raw_error (11, "Plugin panicked: simulated raw panic");
  else if (message_id == 1)
    {
      const FixtureRawEchoRequest *req = request;
      FixtureRawEchoResponse *out;

      if (request_size != sizeof *req)
        resp = raw_error (5, "Invalid request size: expected %zu, got %zu", sizeof *req, request_size);
      else if (req->version != 1)
        resp = raw_error (5, "Unsupported struct version %u", req->version);
      else
        {
          out = calloc (1, sizeof *out);
          out->version = 1;
          out->value_times_two = req->value * 2;
          out->text_len = (uint32_t) strnlen (req->text, sizeof req->text);
          memcpy (out->text, req->text, out->text_len);
          resp.data = out;
          resp.len = resp.capacity = sizeof *out;
          atomic_fetch_add (&outstanding, 1);
        }
    }
  else
    {
      const FixtureRawSleep *req = request;
      FixtureRawSleep *out;

      if (request_size != sizeof *req || req->version != 1)
        resp = raw_error (5, "Invalid sleep request");
      else
        {
          sleep_ms ((long) req->duration_ms);
          out = malloc (sizeof *out);
          *out = *req;
          resp.data = out;
          resp.len = resp.capacity = sizeof *out;
          atomic_fetch_add (&outstanding, 1);
        }
    }
  handle_release (h);
  return resp;
}

EXPORT void
rb_response_free (RbResponse *resp)
{
  if (resp == NULL || resp->data == NULL)
    return;
  /* As the framework: only an allocation (capacity > 0) is freed. */
  if (resp->capacity == 0)
    {
      if (resp->data == DANGLING)
        atomic_fetch_sub (&outstanding, 1);
      resp->data = NULL;
      resp->len = 0;
      return;
    }
  free (resp->data);
  atomic_fetch_sub (&outstanding, 1);
  resp->data = NULL;
  resp->len = resp->capacity = 0;
}

#endif /* FIXTURE_NO_RAW */
