/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <rustbridge-glib.h>

G_BEGIN_DECLS

/* Which test plugin a test case runs against. */
typedef enum {
  RB_TEST_FIXTURE,   /* the C fixture plugin (deterministic edge cases) */
  RB_TEST_RUST,      /* the Rust plugin (real allocations, threads, panics) */
} RbTestPluginKind;

const char *rb_test_plugin_path        (RbTestPluginKind kind);
const char *rb_test_env_path           (const char      *variable);
RbPlugin   *rb_test_load               (RbTestPluginKind kind,
                                        RbPluginConfig  *config);
gboolean    rb_test_skip_if_missing    (RbTestPluginKind kind);
void        rb_test_init               (int             *argc,
                                        char          ***argv);
void        rb_test_add_both           (const char      *name,
                                        GTestDataFunc    func);
void        rb_test_wait_until         (gboolean        *flag,
                                        guint            timeout_ms);
void        rb_test_iterate_for        (guint            ms);
void        rb_test_assert_finalized   (gpointer         object);
guint       rb_test_scale              (guint            n);
guint64     rb_test_fixture_outstanding (void);
guint64     rb_test_fixture_stale_handle_uses (void);
guint64     rb_test_plugin_counter     (const char      *path,
                                        const char      *symbol);
const char *rb_test_misbehave_path     (void);
RbIsolation rb_test_isolation          (void);
gboolean    rb_test_skip_if_isolated   (void);
RbPluginConfig *rb_test_config         (RbPluginConfig  *config);
guint64     rb_test_misbehave_counter  (const char      *symbol);
guint       rb_test_count_fds          (void);

#define RB_TEST_KIND(data) ((RbTestPluginKind) GPOINTER_TO_INT (data))

G_END_DECLS
