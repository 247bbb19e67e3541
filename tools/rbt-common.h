/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <rustbridge-glib.h>

#include "rb-archive-private.h"
#include "rb-names-private.h"
#include "rb-minisign-private.h"

G_BEGIN_DECLS

/* rustbridge-tool's own errors (bad command lines, keys, passwords,
 * input files); the library's domains are reported as they are. */
#define RBT_ERROR (rbt_error_quark ())

typedef enum {
  RBT_ERROR_USAGE = 1,        /* a bad option or argument */
  RBT_ERROR_INPUT,            /* an input file is missing or not what it should be */
  RBT_ERROR_KEY,              /* a key file is malformed or unsupported */
  RBT_ERROR_PASSWORD,         /* no password, or the wrong one */
  RBT_ERROR_EXISTS,           /* an output file exists */
  RBT_ERROR_GIT,              /* --build-info-from-git failed */
} RbtError;

GQuark rbt_error_quark (void);

/* Exit statuses (documented in rustbridge-tool(1)). */
enum {
  RBT_EXIT_OK = 0,
  RBT_EXIT_FAILURE = 1,       /* I/O and other errors */
  RBT_EXIT_USAGE = 2,
  RBT_EXIT_VERIFY = 3,        /* a checksum or signature does not verify, or no key */
  RBT_EXIT_BUNDLE = 4,        /* the bundle is invalid (archive, manifest, platform, ...) */
  RBT_EXIT_KEY = 5,           /* bad key file or password */
  RBT_EXIT_LOAD = 6,          /* the plugin could not be loaded */
  RBT_EXIT_PLUGIN_BASE = 10,  /* + the plugin's error code 1..13 (11..23) */
  RBT_EXIT_PROTOCOL = 24,     /* the plugin answered with a malformed response */
  RBT_EXIT_NOT_SUPPORTED = 25,
};

/* Prints "rustbridge-tool COMMAND: MESSAGE (DOMAIN CODE_NAME = N)" on one
 * line and returns the exit status for @error. */
int          rbt_report_error        (const char    *command,
                                      const GError  *error);
int          rbt_usage_error         (const char    *command,
                                      const char    *format,
                                      ...) G_GNUC_PRINTF (2, 3);

/* A file name as messages show it (escaped, one line). */
char        *rbt_shown               (const char    *name) G_GNUC_WARN_UNUSED_RESULT;

gboolean     rbt_read_file           (const char    *path,
                                      const char    *what,
                                      gsize          max_size,
                                      GBytes       **out,
                                      GError       **error);

/* Writes @data to @path atomically: a temporary file in the same
 * directory, synced, then renamed over @path (which must not exist
 * unless @replace). On failure nothing is left behind. @mode is applied
 * as given (not masked) when >= 0, else 0666 & ~umask. */
gboolean     rbt_write_atomic        (const char    *path,
                                      const guint8  *data,
                                      gsize          len,
                                      int            mode,
                                      gboolean       replace,
                                      GError       **error);

/* The reproducible timestamp: $SOURCE_DATE_EPOCH when set, else now. */
gboolean     rbt_source_date_epoch   (gint64        *out,
                                      GError       **error);

/* The JSON text of @node, as serde_json's pretty printer lays it out
 * (two-space indent, "key": value), members in insertion order. */
char        *rbt_json_pretty         (JsonNode      *node) G_GNUC_WARN_UNUSED_RESULT;

/* Keys (rbt-keys.c) */
typedef struct {
  guint8 key_id[RB_MINISIGN_KEY_ID_LEN];
  guint8 secret_key[64];    /* Ed25519 seed + public key, as libsodium keeps it */
} RbtSecretKey;

/* The password: $RUSTBRIDGE_TOOL_PASSWORD if set, else asked on the
 * terminal without echo (twice when @confirm). */
char        *rbt_get_password        (const char    *prompt,
                                      gboolean       confirm,
                                      GError       **error) G_GNUC_WARN_UNUSED_RESULT;
int          rbt_keygen_main         (int            argc,
                                      char         **argv);
/* Loads (and decrypts) a minisign secret key; wipe it with
 * rbt_secret_key_clear(). */
gboolean     rbt_secret_key_load     (const char    *path,
                                      RbtSecretKey  *key,
                                      GError       **error);
void         rbt_secret_key_clear    (RbtSecretKey  *key);
/* The public key line (base64 of "Ed" + key id + public key). */
char        *rbt_secret_key_public_line (const RbtSecretKey *key) G_GNUC_WARN_UNUSED_RESULT;
/* A whole .minisig file: prehashed ("ED") signature of @data with
 * @trusted_comment. */
char        *rbt_sign                (const RbtSecretKey *key,
                                      const guint8  *data,
                                      gsize          len,
                                      const char    *trusted_comment) G_GNUC_WARN_UNUSED_RESULT;
/* The trusted comment written with each signature unless one is given. */
char        *rbt_default_trusted_comment (gint64       timestamp,
                                          const char  *entry_name) G_GNUC_WARN_UNUSED_RESULT;
/* Reads a .pub file (or a bare key line). */
gboolean     rbt_public_key_load     (const char    *path,
                                      RbMinisignKey *key,
                                      char         **text,
                                      GError       **error);

/* Bundles (rbt-create.c) */
typedef struct {
  char   *name;
  GBytes *data;
} RbtEntry;

void         rbt_entry_free          (RbtEntry      *entry);
RbtEntry    *rbt_entry_new           (const char    *name,
                                      GBytes        *data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbtEntry, rbt_entry_free)

/* Writes the entries (manifest first, then sorted by name) as a ZIP with
 * fixed timestamps and modes, atomically. */
gboolean     rbt_write_bundle        (const char    *path,
                                      GPtrArray     *entries,
                                      gint64         timestamp,
                                      int            mode,
                                      gboolean       replace,
                                      GError       **error);
/* The libraries a (validated) manifest names, sorted by platform and
 * variant; the legacy single-library form is variant "release". */
typedef struct {
  char *platform;
  char *variant;
  char *library;
  char *checksum;
} RbtLibraryRef;

GPtrArray   *rbt_manifest_libraries  (JsonObject    *manifest) G_GNUC_WARN_UNUSED_RESULT;
void         rbt_library_ref_free    (RbtLibraryRef *ref);
gboolean     rbt_checksum_matches    (const char    *expected,
                                      GBytes        *data);
/* A whole entry (up to 1 GiB), streamed out of the checked archive. */
GBytes      *rbt_archive_read_all    (RbArchive     *archive,
                                      const char    *name,
                                      GError       **error) G_GNUC_WARN_UNUSED_RESULT;
int          rbt_create_main         (int            argc,
                                      char         **argv);
int          rbt_sign_main           (int            argc,
                                      char         **argv);

/* Inspection (rbt-inspect.c) */
/* A bundle opened with RbBundle (archive and manifest checks) and as a
 * checked archive; @manifest belongs to @parser. */
typedef struct {
  RbBundle   *bundle;
  RbArchive  *archive;
  JsonParser *parser;
  JsonObject *manifest;
} RbtBundle;

#define RBT_BUNDLE_INIT { NULL, NULL, NULL, NULL }

gboolean     rbt_bundle_open         (RbtBundle     *b,
                                      const char    *path,
                                      GError       **error);
void         rbt_bundle_clear        (RbtBundle     *b);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RbtBundle, rbt_bundle_clear)

/* The key to trust: --key FILE, the key of --trusted-keys-dir whose id
 * signed the manifest, or the manifest's own; @source says which. */
gboolean     rbt_resolve_key         (const RbtBundle *b,
                                      const char    *key_path,
                                      const char    *keys_dir,
                                      RbMinisignKey *key,
                                      char         **key_text,
                                      char         **source,
                                      GError       **error);
int          rbt_verify_main         (int            argc,
                                      char         **argv);
int          rbt_info_main           (int            argc,
                                      char         **argv);
int          rbt_list_main           (int            argc,
                                      char         **argv);
int          rbt_extract_main        (int            argc,
                                      char         **argv);
int          rbt_schema_main         (int            argc,
                                      char         **argv);

/* Calls (rbt-call.c) */
int          rbt_call_main           (int            argc,
                                      char         **argv);

/* Parses @argv with @entries; on a bad command line prints one line and
 * returns FALSE with *status set. --help prints the help and returns
 * FALSE with *status 0. */
gboolean     rbt_parse_options       (const char    *command,
                                      const char    *parameter_string,
                                      const char    *summary,
                                      GOptionEntry  *entries,
                                      int           *argc,
                                      char        ***argv,
                                      int           *status);

G_END_DECLS
