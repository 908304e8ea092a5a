/* The data-folder lookup: GANNET_DATA_DIR, the share folder, the source tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gannet/datadir.h"
#include "gannet/model.h"
#include "util.h"

/* Sets or (NULL) unsets GANNET_DATA_DIR; returns the old value (caller frees). */
static char *set_env(const char *v) {
    const char *old = getenv(GN_DATA_DIR_ENV);
    char *saved = old ? strdup(old) : NULL;
    if (v) setenv(GN_DATA_DIR_ENV, v, 1);
    else unsetenv(GN_DATA_DIR_ENV);
    return saved;
}

static void restore_env(char *saved) {
    if (saved) setenv(GN_DATA_DIR_ENV, saved, 1);
    else unsetenv(GN_DATA_DIR_ENV);
    free(saved);
}

START_TEST(test_env_folder_only) {
    char dir[1024], sub[1100], file[1200], buf[1300];
    char *tmp = tu_tmpdir();
    snprintf(dir, sizeof dir, "%s/data", tmp);
    free(tmp);
    snprintf(sub, sizeof sub, "%s/models", dir);
    mkdir(dir, 0755);
    mkdir(sub, 0755);
    char *saved = set_env(dir);
    const char *dirs[GN_DATA_DIRS_MAX];
    ck_assert_int_eq(gn_data_dirs(dirs), 1);
    ck_assert_str_eq(dirs[0], dir);
    /* not there: the error names the folder and the variable */
    ck_assert_int_eq(gn_data_path("models/x.gnm", buf, sizeof buf), GN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(gn_last_error(), dir));
    ck_assert_ptr_nonnull(strstr(gn_last_error(), GN_DATA_DIR_ENV));
    ck_assert_ptr_nonnull(strstr(gn_last_error(), "models/x.gnm"));
    /* a preset missing from the folder says the same */
    char *text;
    size_t len;
    ck_assert_int_eq(gn_preset_text("dcgan", &text, &len), GN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(gn_last_error(), dir));
    snprintf(file, sizeof file, "%s/x.gnm", sub);
    tu_write_file(file, "x", 1);
    ck_assert_int_eq(gn_data_path("models/x.gnm", buf, sizeof buf), GN_OK);
    ck_assert_str_eq(buf, file);
    ck_assert_int_eq(gn_data_path("models/x.gnm", buf, 8), GN_ERR_ARG);
    restore_env(saved);
}
END_TEST

START_TEST(test_share_then_source) {
    char *saved = set_env(NULL);
    const char *dirs[GN_DATA_DIRS_MAX];
    ck_assert_int_eq(gn_data_dirs(dirs), 2);
    ck_assert_ptr_nonnull(strstr(dirs[0], "share/gannet"));
    ck_assert_ptr_nonnull(strstr(dirs[1], "data"));
    char buf[4200];
    /* the source tree has it (or the share folder, when installed there) */
    ck_assert_msg(gn_data_path("models/dcgan.gnm", buf, sizeof buf) == GN_OK, "%s", gn_last_error());
    ck_assert_int_eq(gn_data_path("no-such-file", buf, sizeof buf), GN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(gn_last_error(), dirs[0]));
    ck_assert_ptr_nonnull(strstr(gn_last_error(), dirs[1]));
    restore_env(saved);
}
END_TEST

int main(void) {
    Suite *s = suite_create("datadir");
    TCase *tc = tcase_create("lookup");
    tcase_add_test(tc, test_env_folder_only);
    tcase_add_test(tc, test_share_then_source);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
