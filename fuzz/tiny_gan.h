/* A GAN with the dcgan preset's settings but two tiny networks (a few dozen
 * parameters, batch-norm state included), so that a valid checkpoint is a
 * few hundred bytes: the format is fuzzed, not the model's size. */
#ifndef GANNET_FUZZ_TINY_GAN_H
#define GANNET_FUZZ_TINY_GAN_H

#include "gannet/gan.h"

#define TINY_ZDIM 4
#define TINY_NFIXED 2

/* Builds the tiny GAN; NULL on failure (message in gn_last_error()). */
gn_gan *tiny_gan_new(void);
void tiny_gan_free(gn_gan *gan);

#endif
