/* texttable.c - a table of strings printed either as aligned text columns
 * (like the paper's tables) or as a GitHub Markdown pipe table. */
#include "rcn/view.h"

#include <stdlib.h>
#include <string.h>

struct rcn_texttable {
    int ncols, nrows, cap;
    char **cells; /* (nrows + 1) * ncols, row 0 the headers */
    char align[32];
};

static char *dup(const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s ? s : "", n);
    return d;
}

rcn_texttable *rcn_texttable_create(int ncols, const char *const *headers, const char *align)
{
    if (ncols < 1 || ncols > 31)
        return NULL;
    rcn_texttable *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->cap = 16;
    t->cells = calloc((size_t)t->cap * (size_t)ncols, sizeof *t->cells);
    if (!t->cells) {
        free(t);
        return NULL;
    }
    for (int c = 0; c < ncols; c++) {
        t->cells[c] = dup(headers[c]);
        t->align[c] = align && align[c] == 'l' ? 'l' : 'r';
    }
    return t;
}

void rcn_texttable_add(rcn_texttable *t, const char *const *cells)
{
    if (!t)
        return;
    if (t->nrows + 2 > t->cap) {
        char **nc = realloc(t->cells, (size_t)t->cap * 2 * (size_t)t->ncols * sizeof *nc);
        if (!nc)
            return;
        t->cells = nc;
        t->cap *= 2;
    }
    char **row = t->cells + (size_t)(t->nrows + 1) * (size_t)t->ncols;
    for (int c = 0; c < t->ncols; c++)
        row[c] = dup(cells[c]);
    t->nrows++;
}

int rcn_texttable_rows(const rcn_texttable *t)
{
    return t ? t->nrows : 0;
}

/* Display width: UTF-8 continuation bytes take no column. */
static int width(const char *s)
{
    int w = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static void print_to(FILE *f, const rcn_texttable *t, int markdown);

/* Prints through a buffer so that text rows lose their trailing blanks. */
void rcn_texttable_print(FILE *out, const rcn_texttable *t, int markdown)
{
    char *buf = NULL;
    size_t len = 0;
    if (!t)
        return;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        print_to(out, t, markdown);
        return;
    }
    print_to(f, t, markdown);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        print_to(out, t, markdown);
        return;
    }
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        size_t end = i;
        while (end > start && buf[end - 1] == ' ')
            end--;
        fwrite(buf + start, 1, end - start, out);
        fputc('\n', out);
        start = i + 1;
    }
    free(buf);
}

static void print_to(FILE *f, const rcn_texttable *t, int markdown)
{
    int w[32] = {0};
    for (int r = 0; r <= t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[(size_t)r * (size_t)t->ncols + (size_t)c];
            int x = width(s);
            if (x > w[c])
                w[c] = x;
        }
    for (int c = 0; markdown && c < t->ncols; c++)
        if (w[c] < 3)
            w[c] = 3;
    for (int r = 0; r <= t->nrows; r++) {
        if (markdown)
            fputs("|", f);
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[(size_t)r * (size_t)t->ncols + (size_t)c];
            int pad = w[c] - width(s);
            const char *sep = markdown ? " " : (c ? "  " : "");
            fputs(sep, f);
            if (t->align[c] == 'r')
                fprintf(f, "%*s", pad, "");
            if (markdown) { /* a '|' inside a cell would end it */
                for (const char *p = s; *p; p++)
                    fputs(*p == '|' ? "\\|" : (char[]){*p, 0}, f);
            } else {
                fputs(s, f);
            }
            if (t->align[c] == 'l' && (markdown || c + 1 < t->ncols))
                fprintf(f, "%*s", pad, "");
            if (markdown)
                fputs(" |", f);
        }
        fputc('\n', f);
        if (r == 0) {
            if (markdown)
                fputs("|", f);
            for (int c = 0; c < t->ncols; c++) {
                if (markdown) {
                    fputc(' ', f);
                    for (int i = 0; i < w[c] - 1; i++)
                        fputc(i == 0 && t->align[c] == 'l' ? ':' : '-', f);
                    fputc(t->align[c] == 'r' ? ':' : '-', f);
                    fputs(" |", f);
                } else {
                    fputs(c ? "  " : "", f);
                    for (int i = 0; i < w[c]; i++)
                        fputc('-', f);
                }
            }
            fputc('\n', f);
        }
    }
}

void rcn_texttable_destroy(rcn_texttable *t)
{
    if (!t)
        return;
    for (int i = 0; i < (t->nrows + 1) * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}
