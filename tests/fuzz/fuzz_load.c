/* fuzz_load.c — libFuzzer target for the whole loader: the input becomes
   stack.yml in a private directory and goes through compose_load exactly as
   `stack -p fuzz config` would load it (no environment, nothing else on
   disk), then everything is freed. Any crash, leak, hang or sanitizer
   report is a bug in compose/.

   Build: CC=clang cmake -DSTACK_FUZZ=ON; run: tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *dir;  /* private scratch directory, made once */
static char *file; /* dir/stack.yml */
static FILE *sink; /* diagnostics are printed (sorting included), then dropped */

static void
cleanup_dir (void)
{
  if (file)
    unlink (file);
  if (dir)
    rmdir (dir);
  free (file);
  free (dir);
  if (sink)
    fclose (sink);
}

static void
setup (void)
{
  const char *tmp = getenv ("TMPDIR");
  char *tmpl = xasprintf ("%s/stack-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");

  if (mkdtemp (tmpl) == NULL)
    {
      perror ("fuzz_load: mkdtemp");
      abort ();
    }
  dir = tmpl;
  file = xasprintf ("%s/stack.yml", dir);
  sink = fopen ("/dev/null", "w");
  if (sink == NULL)
    abort ();
  atexit (cleanup_dir);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const files[] = { "stack.yml" };
  static char *const empty_environ[] = { NULL };
  compose_options_t o = { 0 };
  compose_project_t *p = NULL;
  compose_diags_t diags;
  stack_error_t *err = NULL;
  FILE *f;

  if (dir == NULL)
    setup ();
  f = fopen (file, "w");
  if (f == NULL || (size > 0 && fwrite (data, 1, size, f) != size) || fclose (f) != 0)
    {
      perror ("fuzz_load: writing stack.yml");
      abort ();
    }

  o.files = files;
  o.n_files = 1;
  o.project_name = "fuzz";
  o.environ = empty_environ;
  o.cwd = dir;

  compose_diags_init (&diags);
  if (compose_load (&o, &p, &diags, &err) == 0)
    {
      /* what `config` does with a good file: order and print it */
      size_t *order = xmalloc ((p->n_services + 1) * sizeof *order);
      compose_start_order (p, NULL, order);
      free (order);
      if (compose_print_model (p, COMPOSE_FORMAT_JSON, sink, &err) < 0)
        stack_error_free (&err);
      if (compose_print_model (p, COMPOSE_FORMAT_YAML, sink, &err) < 0)
        stack_error_free (&err);
      compose_project_free (p);
    }
  compose_diags_print (&diags, sink);
  compose_diags_free (&diags);
  stack_error_free (&err);
  return 0;
}
