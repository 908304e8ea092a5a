/* A transposed convolution to few output channels as one small matrix
 * product per sample and a scatter-add (col2im): oneDNN 2.6.3's transposed
 * convolution (and convolution backward-data) to 3 channels ran about 10x
 * below its other passes of the same FLOPs here (G's 64 -> 3 output layer,
 * D's 3 -> 64 input layer's backward-data in the G step). */
#ifndef GANNET_SCATTER_MM_H
#define GANNET_SCATTER_MM_H

#include "gannet/status.h"

typedef struct gn_scatter_mm {
    int n, ih, iw, ic;          /* input (N, IH, IW, IC), NHWC */
    int oh, ow, oc;             /* output (N, OH, OW, OC), NHWC */
    int kh, kw, sh, sw, pad_t, pad_l;
    float *wt;                  /* (IC, KH * KW * OC): the weights as the product reads them */
    float *cols;                /* (threads, IH * IW, KH * KW * OC) products before the scatter */
    int threads;
} gn_scatter_mm;

/* Whether a pass with `in_c` input and `out_c` output channels takes this path. */
int gn_scatter_mm_wanted(int in_c, int out_c);

gn_status gn_scatter_mm_init(gn_scatter_mm *m);
void gn_scatter_mm_free(gn_scatter_mm *m);

/* wt from w (O, I, KH, KW): swap = 0 when I is the scatter's input channels
 * (a transposed convolution's forward: O = oc), 1 when O is (a convolution's
 * backward-data: O = ic of this product). */
void gn_scatter_mm_weights(gn_scatter_mm *m, const float *w, int swap);

/* y (N, OH, OW, OC) = sum over taps of x (N, IH, IW, IC) . wt, placed at
 * (ih * sh - pad_t + kh, iw * sw - pad_l + kw); relu: max(0, .) after. */
gn_status gn_scatter_mm_run(gn_scatter_mm *m, const float *x, float *y, int relu);

#endif
