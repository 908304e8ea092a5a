/* The image files under a folder, in a fixed order. Internal. */
#ifndef GANNET_DATA_FOLDER_H
#define GANNET_DATA_FOLDER_H

#include <stddef.h>

#include "gannet/data.h"
#include "gannet/status.h"

/* Folders deeper than this below the root are not entered (counted as skipped). */
#define GN_FOLDER_DEPTH_MAX 64
/* How many skipped files a report names (the rest are counted). */
#define GN_SKIPS_NAMED GN_DATA_SKIPPED_NAMED

/* Files that could not be used, in the walk's order: how many, and the
 * first GN_SKIPS_NAMED as "path (reason)" joined by "; ". */
typedef struct gn_skips {
    size_t n;
    char text[1200];
    char first[1024]; /* the first one alone, for --strict's message */
} gn_skips;

void gn_skips_add(gn_skips *s, const char *path, const char *why);

/* Paths relative to the root, malloc'd, in walk order. */
typedef struct gn_file_list {
    char **paths;
    size_t n, cap;
} gn_file_list;

/* Lists every PNG, JPEG, BMP, TGA and GIF (by name, case-insensitive)
 * under root, depth first with each folder's entries in byte order
 * (strcmp), so the order never depends on the file system. Symbolic links
 * are followed; a link back to a folder being walked (a loop) is not
 * entered. Names starting with '.' are passed over (hidden files, macOS's
 * ._ companions). An image name that is not a regular file (a FIFO, a
 * device, a broken link) and a folder that cannot be read go to skips.
 * Fails only when root cannot be read or memory runs out. */
gn_status gn_folder_list(const char *root, gn_file_list *out, gn_skips *skips);
void gn_file_list_free(gn_file_list *l);

/* Whether a name ends in one of the image extensions. */
int gn_is_image_name(const char *name);

#endif
