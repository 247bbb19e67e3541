/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rustbridge-tool: make, sign, inspect, verify and call rustbridge plugin
 * bundles (.rbp). See rustbridge-tool(1).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "rb-archive-private.h"
#include "rb-names-private.h"
#include "rb-json-private.h"
#include "rbt-common.h"

G_DEFINE_QUARK (rustbridge-tool-error-quark, rbt_error)

static const char *const rbt_error_names[] = {
  NULL,
  "RBT_ERROR_USAGE",
  "RBT_ERROR_INPUT",
  "RBT_ERROR_KEY",
  "RBT_ERROR_PASSWORD",
  "RBT_ERROR_EXISTS",
  "RBT_ERROR_GIT",
};

static char *
code_name (const GError *error)
{
  GType type = G_TYPE_INVALID;

  if (error->domain == RBT_ERROR)
    {
      if (error->code > 0 && (gsize) error->code < G_N_ELEMENTS (rbt_error_names))
        return g_strdup (rbt_error_names[error->code]);
      return NULL;
    }
  if (error->domain == RB_BUNDLE_ERROR)
    type = RB_TYPE_BUNDLE_ERROR;
  else if (error->domain == RB_PLUGIN_ERROR)
    type = RB_TYPE_PLUGIN_ERROR;
  else if (error->domain == G_IO_ERROR)
    type = G_TYPE_IO_ERROR_ENUM;
  if (type != G_TYPE_INVALID)
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (type);
      GEnumValue *value = g_enum_get_value (klass, error->code);
      if (value != NULL)
        return g_strdup (value->value_name);
    }
  return NULL;
}

int
rbt_report_error (const char   *command,
                  const GError *error)
{
  g_autofree char *name = code_name (error);
  g_autofree char *message = g_strdup (error->message);
  int status = RBT_EXIT_FAILURE;

  /* One line, whatever the message holds. */
  for (char *p = message; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  g_printerr ("rustbridge-tool%s%s: %s (%s %s%s%d)\n",
              command != NULL ? " " : "", command != NULL ? command : "",
              message, g_quark_to_string (error->domain),
              name != NULL ? name : "", name != NULL ? " = " : "code ", error->code);

  if (error->domain == RBT_ERROR)
    {
      if (error->code == RBT_ERROR_USAGE)
        status = RBT_EXIT_USAGE;
      else if (error->code == RBT_ERROR_KEY || error->code == RBT_ERROR_PASSWORD)
        status = RBT_EXIT_KEY;
    }
  else if (error->domain == G_OPTION_ERROR)
    status = RBT_EXIT_USAGE;
  else if (error->domain == RB_BUNDLE_ERROR)
    {
      switch (error->code)
        {
        case RB_BUNDLE_ERROR_CHECKSUM_MISMATCH:
        case RB_BUNDLE_ERROR_SIGNATURE_MISSING:
        case RB_BUNDLE_ERROR_SIGNATURE_INVALID:
        case RB_BUNDLE_ERROR_NO_PUBLIC_KEY:
          status = RBT_EXIT_VERIFY;
          break;
        default:
          status = RBT_EXIT_BUNDLE;
        }
    }
  else if (error->domain == RB_PLUGIN_ERROR)
    {
      if (error->code >= 1 && error->code <= 13)
        status = RBT_EXIT_PLUGIN_BASE + error->code;
      else if (error->code == RB_PLUGIN_ERROR_LOAD_FAILED)
        status = RBT_EXIT_LOAD;
      else if (error->code == RB_PLUGIN_ERROR_PROTOCOL)
        status = RBT_EXIT_PROTOCOL;
      else if (error->code == RB_PLUGIN_ERROR_NOT_SUPPORTED)
        status = RBT_EXIT_NOT_SUPPORTED;
    }
  return status;
}

int
rbt_usage_error (const char *command,
                 const char *format,
                 ...)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  error = g_error_new (RBT_ERROR, RBT_ERROR_USAGE, "%s (see “rustbridge-tool %s --help”)",
                       message, command);
  return rbt_report_error (command, error);
}

char *
rbt_shown (const char *name)
{
  return rb_names_shown (name);
}

gboolean
rbt_read_file (const char  *path,
               const char  *what,
               gsize        max_size,
               GBytes     **out,
               GError     **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *shown = rbt_shown (path);
  char *contents = NULL;
  gsize len = 0;
  GStatBuf st;

  if (g_stat (path, &st) == 0 && S_ISDIR (st.st_mode))
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_INPUT, "The %s “%s” is a directory", what, shown);
      return FALSE;
    }
  if (g_stat (path, &st) == 0 && (guint64) st.st_size > max_size)
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_INPUT, "The %s “%s” is larger than %" G_GSIZE_FORMAT " bytes",
                   what, shown, max_size);
      return FALSE;
    }
  if (!g_file_get_contents (path, &contents, &len, &local))
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_file_error (local->code),
                   "Cannot read the %s “%s”: %s", what, shown,
                   local->code == G_FILE_ERROR_NOENT ? "no such file" : local->message);
      return FALSE;
    }
  *out = g_bytes_new_take (contents, len);
  return TRUE;
}

static gboolean
write_all (int            fd,
           const guint8  *data,
           gsize          len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, MIN (len, (gsize) G_MAXSSIZE));
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

gboolean
rbt_write_atomic (const char    *path,
                  const guint8  *data,
                  gsize          len,
                  int            mode,
                  gboolean       replace,
                  GError       **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  g_autofree char *shown = rbt_shown (path);
  int fd, saved;
  mode_t mask;

  if (!replace && g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
    {
      g_set_error (error, RBT_ERROR, RBT_ERROR_EXISTS, "“%s” already exists; not replacing it", shown);
      return FALSE;
    }
  fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot write “%s”: %s",
                   shown, g_strerror (saved));
      return FALSE;
    }
  if (mode < 0)
    {
      mask = umask (022);
      umask (mask);
      mode = 0666 & ~mask;
    }
  if (!write_all (fd, data, len) || fchmod (fd, (mode_t) mode) != 0 || fsync (fd) != 0)
    goto fail;
  if (close (fd) != 0)
    {
      fd = -1;
      goto fail;
    }
  fd = -1;
  if (replace)
    {
      if (g_rename (tmp, path) != 0)
        goto fail;
    }
  else
    {
      /* link() fails if @path appeared meanwhile: never replaced. */
      if (link (tmp, path) != 0)
        goto fail;
      g_unlink (tmp);
    }
  return TRUE;

fail:
  saved = errno;
  if (fd >= 0)
    close (fd);
  g_unlink (tmp);
  if (saved == EEXIST)
    g_set_error (error, RBT_ERROR, RBT_ERROR_EXISTS, "“%s” already exists; not replacing it", shown);
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot write “%s”: %s",
                 shown, g_strerror (saved));
  return FALSE;
}

gboolean
rbt_source_date_epoch (gint64  *out,
                       GError **error)
{
  const char *value = g_getenv ("SOURCE_DATE_EPOCH");
  guint64 n;

  if (value == NULL || *value == '\0')
    {
      *out = g_get_real_time () / G_USEC_PER_SEC;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (value, 10, 0, G_GINT64_CONSTANT (253402300799), &n, NULL))
    {
      g_autofree char *shown = rbt_shown (value);
      g_set_error (error, RBT_ERROR, RBT_ERROR_USAGE,
                   "SOURCE_DATE_EPOCH “%s” is not a number of seconds since 1970", shown);
      return FALSE;
    }
  *out = (gint64) n;
  return TRUE;
}

static void
indent (GString *out,
        guint    depth)
{
  for (guint i = 0; i < depth; i++)
    g_string_append (out, "  ");
}

static void
json_node (GString  *out,
           JsonNode *node,
           guint     depth)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr(GList) members = json_object_get_members (object);

        if (members == NULL)
          {
            g_string_append (out, "{}");
            break;
          }
        g_string_append (out, "{\n");
        for (GList *l = members; l != NULL; l = l->next)
          {
            indent (out, depth + 1);
            rb_json_write_string (out, l->data);
            g_string_append (out, ": ");
            json_node (out, json_object_get_member (object, l->data), depth + 1);
            if (l->next != NULL)
              g_string_append_c (out, ',');
            g_string_append_c (out, '\n');
          }
        indent (out, depth);
        g_string_append_c (out, '}');
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        if (n == 0)
          {
            g_string_append (out, "[]");
            break;
          }
        g_string_append (out, "[\n");
        for (guint i = 0; i < n; i++)
          {
            indent (out, depth + 1);
            json_node (out, json_array_get_element (array, i), depth + 1);
            if (i + 1 < n)
              g_string_append_c (out, ',');
            g_string_append_c (out, '\n');
          }
        indent (out, depth);
        g_string_append_c (out, ']');
      }
      break;
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          rb_json_write_string (out, json_node_get_string (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_DOUBLE:
          {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            g_string_append (out, g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
          }
          break;
        default:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
        }
      break;
    }
}

char *
rbt_json_pretty (JsonNode *node)
{
  GString *out = g_string_new (NULL);

  json_node (out, node, 0);
  return g_string_free (out, FALSE);
}

gboolean
rbt_parse_options (const char     *command,
                   const char     *parameter_string,
                   const char     *summary,
                   GOptionEntry   *entries,
                   int            *argc,
                   char         ***argv,
                   int            *status)
{
  g_autoptr(GOptionContext) context = g_option_context_new (parameter_string);
  g_autoptr(GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("rustbridge-tool %s", command);

  g_set_prgname (prgname);
  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *status = rbt_usage_error (command, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  const char *name;
  int (*main) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "keygen", rbt_keygen_main, "Generate a minisign key pair" },
  { "create", rbt_create_main, "Make a bundle from libraries and metadata" },
  { "sign", rbt_sign_main, "Sign (or re-sign) a bundle" },
  { "verify", rbt_verify_main, "Verify a bundle's checksums and signatures" },
  { "info", rbt_info_main, "Show a bundle's metadata" },
  { "list", rbt_list_main, "List the files in a bundle" },
  { "extract", rbt_extract_main, "Extract a bundle's verified library and files" },
  { "schema", rbt_schema_main, "Print one of a bundle's schemas" },
  { "call", rbt_call_main, "Load a plugin and call it" },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage:\n  rustbridge-tool COMMAND [OPTION…]\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nOptions:\n  -h, --help     Show this help\n  --version      Show the version\n\n"
                "“rustbridge-tool COMMAND --help” describes each command.\n");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      print_usage (stderr);
      return RBT_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "-V") == 0)
    {
      printf ("rustbridge-tool %s (rustbridge-glib %s)\n", PACKAGE_VERSION, RB_VERSION_S);
      return RBT_EXIT_OK;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return RBT_EXIT_OK;
    }
  if (!rb_minisign_init (&error))
    return rbt_report_error (NULL, error);

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].main (argc - 1, argv + 1);

  {
    g_autofree char *shown = rbt_shown (argv[1]);
    g_set_error (&error, RBT_ERROR, RBT_ERROR_USAGE,
                 "Unknown command “%s” (see “rustbridge-tool --help”)", shown);
    return rbt_report_error (NULL, error);
  }
}
