/* Where the files gannet ships live at run time (model files, the bundled
 * digits, the classifier): the folder named by the GANNET_DATA_DIR
 * environment variable when it is set, else the installed share folder
 * (PREFIX/share/gannet), else the source tree's data/ folder. */
#ifndef GANNET_DATADIR_H
#define GANNET_DATADIR_H

#include "gannet/export.h"
#include "gannet/status.h"

#include <stddef.h>

/* The environment variable that overrides the search. */
#define GN_DATA_DIR_ENV "GANNET_DATA_DIR"
/* The most folders searched. */
#define GN_DATA_DIRS_MAX 3

/* The folders searched for shipped files, in order, into dirs; returns how
 * many. Only GANNET_DATA_DIR's when the variable is set and not empty. */
GN_API int gn_data_dirs(const char *dirs[GN_DATA_DIRS_MAX]);

/* Writes into buf the path of `name` (a file below the data folder, such as
 * "models/dcgan.gnm") in the first folder of gn_data_dirs() that holds it.
 * GN_ERR_IO naming every folder tried when none does; GN_ERR_ARG when the
 * path does not fit in len bytes. */
GN_API gn_status gn_data_path(const char *name, char *buf, size_t len);

#endif
