// The public headers compile as C++, and their functions link with C
// linkage against the shared library.
#include "gannet/atomic.h"
#include "gannet/checkpoint.h"
#include "gannet/data.h"
#include "gannet/datadir.h"
#include "gannet/eval.h"
#include "gannet/files.h"
#include "gannet/gan.h"
#include "gannet/io.h"
#include "gannet/loss.h"
#include "gannet/memory.h"
#include "gannet/model.h"
#include "gannet/net.h"
#include "gannet/optim.h"
#include "gannet/rng.h"
#include "gannet/settings.h"
#include "gannet/status.h"
#include "gannet/tensor.h"
#include "gannet/train.h"

#include <cstdio>
#include <cstring>

int main() {
    int bad = 0;
    if (std::strcmp(gn_strerror(GN_OK), gn_strerror(GN_ERR_IO)) == 0) bad++;
    if (gn_rng_u32(1, 2, 3) != gn_rng_u32(1, 2, 3)) bad++;
    gn_shape in = {1, 1, 4};
    gn_net *n = gn_net_new("cxx", in);
    gn_net_add_dense(n, 3);
    if (gn_net_build(n, GN_INIT_GLOROT_UNIFORM, 1) != GN_OK || gn_net_param_count(n) != 15) bad++;
    gn_net_free(n);
    const char *dirs[GN_DATA_DIRS_MAX];
    if (gn_data_dirs(dirs) < 1) bad++;
    if (!gn_preset_names[0]) bad++;
    std::printf("%s\n", bad ? "FAILED" : "OK");
    return bad;
}
