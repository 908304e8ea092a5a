/* A run folder and what keeps it whole: a path that fits, a lock held while
 * a training writes into it, the list of files that make a run (so that a
 * run is never silently replaced, and --overwrite removes nothing else),
 * and the data file a run records so that --resume trains on the same
 * images. */
#ifndef GANNET_RUNFOLDER_H
#define GANNET_RUNFOLDER_H

#include <stddef.h>

#include "gannet/data.h"
#include "gannet/gan.h"

/* The longest run folder path, in bytes: the longest file gannet writes
 * inside ("samples/iter_1000000000.png" and a temporary suffix) must still
 * fit in PATH_MAX (4096). */
#define GN_RUN_DIR_MAX 4000
/* Room for any path inside a run folder. */
#define GN_RUN_PATH_MAX 4200
/* The lock file, held with flock(2) while a training runs. */
#define GN_RUN_LOCK_FILE "gannet.lock"

/* Copies a run folder path into dst (GN_RUN_PATH_MAX bytes), refusing one
 * longer than GN_RUN_DIR_MAX; `option` names where it came from ("--out"). */
gn_status gn_run_set_dir(char *dst, const char *dir, const char *option);

/* Creates dir and the folders above it; *made says whether dir itself was new. */
gn_status gn_run_make_dirs(const char *dir, int *made);

/* Takes the run folder's lock (a flock on GN_RUN_LOCK_FILE, with this
 * process's id written in it); fails naming the process that holds it. */
gn_status gn_run_lock(const char *dir, int *fd);
/* Releases the lock (closes fd; the file stays). */
void gn_run_unlock(int fd);

/* Whether dir holds files of a run; the first one found goes into `first`. */
int gn_run_exists(const char *dir, char *first, size_t len);
/* Removes the files of a run from dir (and samples/ when it is left empty);
 * any other file stays. */
gn_status gn_run_clear(const char *dir);
/* A run folder inside the image folder it trains on would have its sample
 * grids read back as training images: refused (GN_ERR_ARG) before anything
 * is loaded or made. `data` that is not a folder passes; `dir` need not
 * exist yet (the part that exists is resolved, links and all). */
gn_status gn_run_check_outside(const char *dir, const char *data);
/* Undoes a start that failed before writing anything: removes the lock
 * file, samples/ and dir, each only when empty. */
void gn_run_unmake(const char *dir);

/* The data a run records is its path and the fingerprint of its images
 * (gn_fingerprint: the decoded IDX bytes, taken while they are loaded), so
 * that --resume trains on the same images or refuses. */

/* Records the data of a new run in cfg: the absolute path of `path` and the
 * fingerprint of what was loaded from it. */
gn_status gn_run_record_data(gn_gan_config *cfg, const char *path, const gn_fingerprint *fp);
/* Before a resumed run loads its data: unless --data was given
 * (data_given), the recorded path must still be there (fails saying the
 * data is gone) and be a file (a stream cannot be read again: fails asking
 * for --data FILE). A checkpoint that records no data passes. */
gn_status gn_run_find_data(const gn_gan_config *recorded, int data_given);
/* Once loaded: the data of a resumed run (cfg->data, the recorded path or
 * the one given with --data) must have the recorded fingerprint; fails
 * saying the data changed, or that --data is not the run's data. On success
 * cfg->data is absolute. */
gn_status gn_run_check_data(gn_gan_config *cfg, const gn_gan_config *recorded, const gn_fingerprint *fp);

#endif
