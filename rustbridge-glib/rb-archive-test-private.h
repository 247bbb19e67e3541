/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * rb-archive-test-private: test seams of rb-archive-private.c, for
 * tests/internal/test-archive.c only. They reach the helpers and states
 * no archive can be made to reach from outside (a checked entry that
 * libarchive then sees otherwise, a machine without UTF-8 locales). The
 * library itself never calls them; they are hidden like every private
 * function.
 */

#include <locale.h>

#include "rb-archive-private.h"

G_BEGIN_DECLS

/* An entry of the archive's index (opaque). */
typedef struct _RbArchiveEntry RbArchiveEntry;

/* Whether an end record signature after the record at @record in @tail
 * (the last @tail_len bytes of the file) is where libarchive would take
 * it for the end record. */
gboolean             rb_archive_test_later_end_signature (const guint8         *tail,
                                                          gsize                 tail_len,
                                                          gsize                 record);

/* The locale in which the calling thread reads entry names: (locale_t) 0
 * when its character set is UTF-8 already; FALSE when no UTF-8 locale is
 * installed. Free a locale it returns with freelocale(). */
gboolean             rb_archive_test_names_locale_new    (locale_t             *out);

/* Replaces the NULL-terminated list of UTF-8 locales tried (NULL: the
 * default list); returns the previous one. */
const char * const  *rb_archive_test_set_utf8_locales    (const char * const   *locales);

/* The check that libarchive sees the entries the central directory
 * listed, in file order, run again. */
gboolean             rb_archive_test_cross_check         (RbArchive            *self,
                                                          GError              **error);

/* The entries in file order (RbArchiveEntry), as the cross check expects
 * them: the test may reorder, remove or add entries, and must put them
 * back before the archive is freed. */
GPtrArray           *rb_archive_test_get_file_order      (RbArchive            *self);

/* An entry that is not in any archive, for adding to the file order;
 * the caller frees it with rb_archive_test_entry_free(). */
RbArchiveEntry      *rb_archive_test_entry_new           (const char           *name);
void                 rb_archive_test_entry_free          (RbArchiveEntry       *entry);

const char          *rb_archive_test_entry_get_name      (const RbArchiveEntry *entry);
/* Makes @entry's name @name (not copied, not freed: @name must outlive
 * the use) and returns the previous one, which the caller puts back
 * before the archive is freed. */
char                *rb_archive_test_entry_swap_name     (RbArchiveEntry       *entry,
                                                          char                 *name);

/* Takes the file as it is now for the file that was checked (as if a
 * rewrite had left its size and times as they were). */
gboolean             rb_archive_test_restat              (RbArchive            *self);

G_END_DECLS
