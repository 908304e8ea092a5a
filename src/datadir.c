/* Finding shipped files: GANNET_DATA_DIR, the installed share folder, the
 * source tree (gannet/datadir.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gannet/datadir.h"
#include "gannet_config.h" /* GANNET_SHARE_DIR, GANNET_SOURCE_DATA_DIR */

int gn_data_dirs(const char *dirs[GN_DATA_DIRS_MAX]) {
    const char *env = getenv(GN_DATA_DIR_ENV);
    if (env && *env) {
        dirs[0] = env;
        return 1;
    }
    dirs[0] = GANNET_SHARE_DIR;
    dirs[1] = GANNET_SOURCE_DATA_DIR;
    return 2;
}

gn_status gn_data_path(const char *name, char *buf, size_t len) {
    const char *dirs[GN_DATA_DIRS_MAX];
    int n = gn_data_dirs(dirs);
    char tried[3 * 1024] = "";
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf, len, "%s/%s", dirs[i], name);
        if (w < 0 || (size_t)w >= len)
            return gn_fail(GN_ERR_ARG, "data file path %s/%s is too long", dirs[i], name);
        if (!access(buf, F_OK)) return GN_OK;
        size_t t = strlen(tried);
        snprintf(tried + t, sizeof tried - t, "%s%s", i ? ", " : "", dirs[i]);
    }
    /* leave the first candidate in buf, so that a caller that goes on names a real place */
    snprintf(buf, len, "%s/%s", dirs[0], name);
    if (n == 1)
        return gn_fail(GN_ERR_IO, "cannot find data file %s in %s (the folder %s names)", name, tried,
                       GN_DATA_DIR_ENV);
    return gn_fail(GN_ERR_IO, "cannot find data file %s in %s (set %s to the folder that holds it)", name,
                   tried, GN_DATA_DIR_ENV);
}
