/* GN_API marks the functions of the public API: libgannet is built with
 * -fvisibility=hidden, so only what carries GN_API is exported from the
 * shared library (test/abi-symbols.txt lists them). In C++ it also gives the
 * declaration C linkage, so the headers need no extern "C" block of their
 * own. GN_API_DATA does the same for an exported variable. */
#ifndef GANNET_EXPORT_H
#define GANNET_EXPORT_H

#if defined(__GNUC__)
#define GN_VISIBLE __attribute__((visibility("default")))
#else
#define GN_VISIBLE
#endif

#ifdef __cplusplus
#define GN_API extern "C" GN_VISIBLE
#define GN_API_DATA extern "C" GN_VISIBLE
#else
#define GN_API GN_VISIBLE
#define GN_API_DATA extern GN_VISIBLE
#endif

#endif
