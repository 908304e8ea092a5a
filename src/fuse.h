/* The fusion pass (fuse.c). */
#ifndef GANNET_FUSE_H
#define GANNET_FUSE_H

#include "layers/layer.h"

/* Sets the GN_FUSE_* flags and remakes_bn of a built layer list whose flags are clear. */
void gn_fuse(gn_layer *layers, int n);

#endif
