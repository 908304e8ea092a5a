/* Helpers for the suites that build networks (not the kernels-only build). */
#ifndef GANNET_TEST_UTIL_NET_H
#define GANNET_TEST_UTIL_NET_H

#include "gannet/gan.h"
#include "gannet/net.h"

/* Appends a ResNet-style block to n: conv 3x3 -> "x" -> BN -> act -> conv
 * 3x3 -> add "x" -> "r" -> BN -> act -> upsample 2 -> conv 3x3 -> "main";
 * take "r" -> upsample 2 -> conv 1x1 (the shortcut) -> add "main". act is
 * ReLU when relu, else tanh (smooth, for finite differences). */
void tu_res_block(gn_net *n, int channels, int relu);

/* A new network, with its fusions disabled when !fuse. */
gn_net *tu_net_new(const char *name, gn_shape in, int fuse);
/* Builds n (Glorot, seed 5) and gives its convolution biases random values,
 * so that a bias added after a fused ReLU instead of before it would show. */
void tu_build_with_biases(gn_net *n);

/* Runs a training forward and backward of a and b (the same network, fused
 * and not) on x and dy; checks that logits, input gradients and parameter
 * gradients agree to 1e-4, relative to the larger value or to a floor:
 * dx_floor for dx, or when 0, 1% of the largest |dx|; 1% of the largest
 * parameter gradient for those (biases before a batch norm have gradients
 * that are zero up to rounding). Returns the worst parameter difference. */
double tu_compare_nets(gn_net *a, gn_net *b, const gn_tensor *x, const gn_tensor *dy, double dx_floor);
/* The same at relative tolerance tol (tu_compare_nets: 1e-4); tol 0: bit
 * for bit. */
double tu_compare_nets_tol(gn_net *a, gn_net *b, const gn_tensor *x, const gn_tensor *dy, double dx_floor,
                           double tol);

/* 1 when this CPU runs bf16 natively; else prints why the bf16 test is
 * skipped and returns 0. */
int tu_have_bf16(void);

/* The bundled digits with their labels (the test fails if they do not load). */
gn_dataset tu_load_mnist(void);

/* The loss of one D step (d_step; on ds, with data, noise and key `step`) or
 * G step (noise and key `step`) of gan, its network's gradient copied to
 * grads when not NULL; that network's weights and Adam's state are put back
 * after, so that the step can be repeated with one weight changed. */
float tu_gan_step_loss(gn_gan *gan, const gn_dataset *ds, int d_step, uint64_t step, float *grads);

#endif
