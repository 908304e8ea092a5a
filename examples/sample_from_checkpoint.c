/* Draws images from a checkpoint `gannet train` wrote (a run folder or its
 * checkpoint.gnt) into a PNG grid, through the installed library.
 *
 *   cc sample_from_checkpoint.c $(pkg-config --cflags --libs gannet) -o sample_from_checkpoint
 *   ./sample_from_checkpoint RUN_FOLDER|CHECKPOINT.gnt OUT.png [N] [SEED] */
#include <stdio.h>
#include <stdlib.h>

#include "gannet/checkpoint.h"
#include "gannet/io.h"

#define MAX_N 256

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: sample_from_checkpoint RUN_FOLDER|CHECKPOINT.gnt OUT.png [N] [SEED]\n");
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 16;
    uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    if (n < 1 || n > MAX_N) {
        fprintf(stderr, "sample_from_checkpoint: N must be in [1, %d]\n", MAX_N);
        return 2;
    }
    gn_gan *gan;
    char file[4096];
    if (gn_gan_open_checkpoint(argv[1], seed, &gan, file, sizeof file)) {
        fprintf(stderr, "sample_from_checkpoint: %s\n", gn_last_error());
        return 1;
    }
    gn_shape s = gn_net_output_shape(gan->G);
    size_t count = (size_t)n * s.h * s.w * s.c;
    uint8_t *u8 = malloc(count);
    float *f = malloc(count * sizeof(float));
    int cols = 1;
    while (cols * cols < n) cols++;
    gn_status st = gn_gan_sample_u8(gan, n, u8); /* grey levels 0..255 */
    for (size_t i = 0; !st && i < count; i++) f[i] = u8[i];
    if (!st) st = gn_png_write_grid(argv[2], f, (size_t)n, s.h, s.w, s.c, (n + cols - 1) / cols, cols, 2, 0, 255);
    if (st) fprintf(stderr, "sample_from_checkpoint: %s\n", gn_last_error());
    else printf("%s (iteration %llu of %s): wrote %d images to %s\n", file, (unsigned long long)gan->iter,
                gan->cfg.preset, n, argv[2]);
    free(u8);
    free(f);
    gn_gan_free(gan);
    return st ? 1 : 0;
}
