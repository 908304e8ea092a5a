/* stb_image compiled into the fuzz target, so that the decoder itself runs
 * under the fuzzer's coverage and the sanitizers (Debian's libstb is built
 * without them). */
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
