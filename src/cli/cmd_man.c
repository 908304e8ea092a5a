/* gannet help-man: the manual page gannet(1), in roff, made at build time
 * from the --help of every command and subcommand, so that the page and
 * --help (and through it the settings table) cannot drift apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "gannet/datadir.h"
#include "gannet_config.h"

#define MAN_LINE 4096
#define MAN_MAX_SUBS 8
/* Help lines indented this much, with a gap of at least two spaces, are "term  description". */
#define MAN_TERM_INDENT 2

/* Writes text with roff's special characters escaped. */
static void roff_text(FILE *out, const char *s) {
    if (*s == '.' || *s == '\'') fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\') fputs("\\e", out);
        else if (*s == '-') fputs("\\-", out);
        else fputc(*s, out);
    }
}

/* One help line as roff: a term and its description become a tagged paragraph. */
static void roff_line(FILE *out, char *l) {
    size_t n = strlen(l);
    while (n && (l[n - 1] == '\n' || l[n - 1] == ' ')) l[--n] = 0;
    if (!n) {
        fputs(".PP\n", out);
        return;
    }
    char *gap = strstr(l + MAN_TERM_INDENT, "  ");
    if (!strncmp(l, "  ", MAN_TERM_INDENT) && l[MAN_TERM_INDENT] != ' ' && gap) {
        *gap = 0;
        char *desc = gap + 2;
        while (*desc == ' ') desc++;
        fputs(".TP\n.B ", out);
        roff_text(out, l + MAN_TERM_INDENT);
        fputc('\n', out);
        roff_text(out, desc);
    } else {
        const char *t = l;
        while (*t == ' ') t++;
        roff_text(out, t);
    }
    fputc('\n', out);
}

/* Runs `gannet ARGV...` with its standard output captured in a temporary file. */
static FILE *capture(int (*run)(int, char **), int argc, char **argv) {
    FILE *t = tmpfile();
    if (!t) return NULL;
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(t), STDOUT_FILENO);
    run(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(t);
    return t;
}

/* The subcommands a command's usage names: "gannet bench layers|kernels|step". */
static int subcommands(FILE *help, const char *cmd, char subs[MAN_MAX_SUBS][64]) {
    char l[MAN_LINE], prefix[128];
    int n = 0;
    snprintf(prefix, sizeof prefix, "gannet %s ", cmd);
    while (fgets(l, sizeof l, help)) {
        char *p = strstr(l, prefix);
        if (!p || (strncmp(l, "usage: ", 7) && strncmp(l, "       gannet", 13))) continue;
        p += strlen(prefix);
        if (*p < 'a' || *p > 'z') continue; /* [options], FILE */
        char word[256];
        if (sscanf(p, "%255s", word) != 1) continue;
        for (char *tok = strtok(word, "|"); tok && n < MAN_MAX_SUBS; tok = strtok(NULL, "|"))
            snprintf(subs[n++], sizeof subs[0], "%s", tok);
    }
    rewind(help);
    return n;
}

/* A section: `gannet WORDS --help`, converted. */
static void section(FILE *out, FILE *help, const char *title) {
    char l[MAN_LINE];
    fputs(".SS \"", out);
    roff_text(out, title);
    fputs("\"\n", out);
    while (fgets(l, sizeof l, help)) roff_line(out, l);
}

static void command(FILE *out, int (*run)(int, char **), const char *cmd) {
    char *argv[] = {"gannet", (char *)cmd, "--help", NULL, NULL};
    FILE *help = capture(run, 3, argv);
    if (!help) return;
    char subs[MAN_MAX_SUBS][64], title[640];
    int n = subcommands(help, cmd, subs);
    snprintf(title, sizeof title, "gannet %s", cmd);
    section(out, help, title);
    fclose(help);
    for (int i = 0; i < n; i++) {
        char *sargv[] = {"gannet", (char *)cmd, subs[i], "--help", NULL};
        FILE *sh = capture(run, 4, sargv);
        if (!sh) continue;
        snprintf(title, sizeof title, "gannet %s %s", cmd, subs[i]);
        section(out, sh, title);
        fclose(sh);
    }
}

int gn_cli_man(int (*run)(int, char **), const char *const *names) {
    FILE *out = fdopen(dup(STDOUT_FILENO), "w");
    if (!out) return 1;
    fprintf(out, ".TH GANNET 1 \"\" \"gannet %s\" \"User Commands\"\n", GANNET_VERSION);
    fputs(".SH NAME\ngannet \\- train generative adversarial networks on CPUs\n"
          ".SH SYNOPSIS\n.B gannet\n.I COMMAND\n[options]\n.br\n.B gannet \\-\\-version\n"
          ".SH DESCRIPTION\ngannet trains GANs with oneDNN and OpenMP, writes losses, sample grids and\n"
          "checkpoints into a run folder, draws samples and scores them.\n"
          "Every option of every command follows.\n.SH COMMANDS\n", out);
    fflush(out);
    for (int i = 0; names[i]; i++) {
        command(out, run, names[i]);
        fflush(out);
    }
    fprintf(out, ".SH ENVIRONMENT\n.TP\n.B %s\nThe folder holding the shipped files (models/*.gnm, the bundled "
            "digits, the classifier); when unset, %s and then the source tree's data folder.\n"
            ".TP\n.B OMP_NUM_THREADS\nOpenMP threads, unless \\-\\-threads is given.\n"
            ".SH FILES\n.TP\n.I %s/models/*.gnm\nThe preset model files.\n"
            ".SH SEE ALSO\nThe README and docs/ of the gannet source tree.\n",
            GN_DATA_DIR_ENV, GANNET_SHARE_DIR, GANNET_SHARE_DIR);
    return fclose(out) ? 1 : 0;
}
