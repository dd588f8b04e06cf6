/* helpers.c — see helpers.h. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

/* Scratch directories not freed yet: a failed assertion leaves the test
   without reaching th_free, so what is left goes when the program ends. */
static char *live[64];

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st, (void) flag, (void) ftw;
  return remove (path);
}

static void
remove_live (void)
{
  size_t i;

  for (i = 0; i < sizeof live / sizeof live[0]; i++)
    if (live[i])
      {
        nftw (live[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free (live[i]);
        live[i] = NULL;
      }
}

static void
track (const char *dir, bool add)
{
  static bool registered;
  size_t i;

  if (!registered)
    registered = atexit (remove_live) == 0;
  for (i = 0; i < sizeof live / sizeof live[0]; i++)
    if (add ? live[i] == NULL : (live[i] && strcmp (live[i], dir) == 0))
      {
        free (live[i]);
        live[i] = add ? strdup (dir) : NULL;
        return;
      }
}

void
th_init (th_t *t)
{
  char tmpl[] = "/tmp/stack-unit-XXXXXX";
  memset (t, 0, sizeof *t);
  assert_non_null (mkdtemp (tmpl));
  t->dir = strdup (tmpl);
  track (t->dir, true);
}

static void
mkdirs (char *path)
{
  char *p;
  for (p = path + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        mkdir (path, 0755);
        *p = '/';
      }
}

void
th_write (th_t *t, const char *name, const char *content)
{
  char *path = xasprintf ("%s/%s", t->dir, name);
  FILE *f;
  mkdirs (path);
  f = fopen (path, "w");
  assert_non_null (f);
  fputs (content, f);
  fclose (f);
  free (path);
}

static size_t
count (const char *const *a, size_t max)
{
  size_t n = 0;
  while (n < max && a[n])
    n++;
  return n;
}

int
th_run (th_t *t)
{
  compose_options_t o = { 0 };
  compose_diags_t d;
  stack_error_t *err = NULL;
  char *buf = NULL;
  size_t len = 0;
  FILE *mem;

  o.files = t->files;
  o.n_files = count (t->files, 8);
  o.profiles = t->profiles;
  o.n_profiles = count (t->profiles, 8);
  o.env_files = t->env_files;
  o.n_env_files = count (t->env_files, 4);
  o.environ = (char *const *) t->env;
  o.project_name = t->project_name;
  o.cwd = t->dir;

  compose_diags_init (&d);
  t->ret = compose_load (&o, &t->p, &d, &err);
  mem = open_memstream (&buf, &len);
  compose_diags_print (&d, mem);
  if (err)
    fprintf (mem, "stack: %s\n", err->msg);
  fclose (mem);
  free (t->out);
  t->out = buf;
  stack_error_free (&err);
  compose_diags_free (&d);
  if (t->ret < 0)
    t->p = NULL;
  return t->ret;
}

int
th_load (th_t *t, const char *yaml)
{
  th_init (t);
  th_write (t, "stack.yml", yaml);
  if (t->project_name == NULL)
    t->project_name = "test";
  return th_run (t);
}

const char *
th_json (th_t *t, const char *path)
{
  static char *last;
  node_t *n;
  char *copy, *tok, *save = NULL;

  if (t->p == NULL)
    return "<no project>";
  n = t->p->model;
  copy = strdup (path);
  for (tok = strtok_r (copy, ".", &save); tok && n; tok = strtok_r (NULL, ".", &save))
    {
      char *end;
      unsigned long i = strtoul (tok, &end, 10);
      if (n->kind == N_SEQ && *end == '\0')
        n = i < n->len ? n->items[i] : NULL;
      else
        n = node_map_get (n, tok);
    }
  free (copy);
  free (last);
  last = n ? node_to_json_text (n) : strdup ("<absent>");
  return last;
}

void
th_free (th_t *t)
{
  compose_project_free (t->p);
  if (t->dir)
    {
      nftw (t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
      track (t->dir, false);
    }
  free (t->dir);
  free (t->out);
  memset (t, 0, sizeof *t);
}
