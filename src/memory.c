/* Memory limits (see gannet/memory.h), read from /proc and /sys. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "gannet/memory.h"

#define NO_LIMIT ((size_t)-1)

/* The first number in a file (or the number after `key` in /proc/meminfo's
 * style), times `scale`; NO_LIMIT when absent or "max". */
static size_t read_number(const char *path, const char *key, size_t scale) {
    FILE *f = fopen(path, "r");
    if (!f) return NO_LIMIT;
    char line[256];
    size_t v = NO_LIMIT;
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        if (key) {
            if (strncmp(line, key, strlen(key))) continue;
            p += strlen(key);
        }
        unsigned long long x;
        if (sscanf(p, " %llu", &x) == 1) v = (size_t)x * scale;
        break;
    }
    fclose(f);
    return v;
}

/* A cgroup's limit less what it uses already; NO_LIMIT when it has none. */
static size_t cgroup_left(const char *limit_path, const char *usage_path) {
    size_t limit = read_number(limit_path, NULL, 1), used = read_number(usage_path, NULL, 1);
    if (limit == NO_LIMIT || limit >= ((size_t)1 << 60)) return NO_LIMIT; /* v1 says "none" so */
    if (used == NO_LIMIT) used = 0;
    return limit > used ? limit - used : 0;
}

/* Takes v as the new minimum when it is smaller, naming where it came from. */
static void take_min(size_t *best, size_t v, const char *what, char *source, size_t len) {
    if (v < *best) {
        *best = v;
        snprintf(source, len, "%s", what);
    }
}

size_t gn_mem_available(char *source, size_t len) {
    size_t best = NO_LIMIT;
    snprintf(source, len, "no known limit");
    take_min(&best, read_number("/proc/meminfo", "MemAvailable:", 1024), "MemAvailable in /proc/meminfo",
             source, len);
    take_min(&best, cgroup_left("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
             "the cgroup's memory.max", source, len);
    take_min(&best, cgroup_left("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
             "the cgroup's memory.limit_in_bytes", source, len);
    struct rlimit r;
    if (!getrlimit(RLIMIT_AS, &r) && r.rlim_cur != RLIM_INFINITY)
        take_min(&best, (size_t)r.rlim_cur, "the address-space limit (ulimit -v)", source, len);
    if (!getrlimit(RLIMIT_DATA, &r) && r.rlim_cur != RLIM_INFINITY)
        take_min(&best, (size_t)r.rlim_cur, "the data-size limit (ulimit -d)", source, len);
    return best;
}
