/* pull-view.c — a pull's progress as Docker and Compose print it: one
   line per event when the output is not a terminal, live bars per layer
   redrawn in place when it is. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli-internal.h"
#include "compose-internal.h"

/* ---- a pull's progress ---- */

struct pull_layer
{
  char id[13]; /* the first 12 hex digits of the blob digest */
  enum rt_pull_phase phase;
  bool seen, downloaded;
  uint64_t done, total;
  char *message; /* RETRYING: why */
};

struct pull_view
{
  FILE *out;
  char *ref;
  bool tty;
  char *status; /* the image's line: "Pulling", "Retrying: ...", "Pulled" */
  struct pull_layer *layers;
  size_t n_layers;
  size_t drawn;     /* tty: lines on screen, to go back over */
  int64_t drawn_at; /* tty: when, to redraw byte counts at most 10 times a second */
};

pull_view_t *
pull_view_new (FILE *out, const char *ref, bool tty)
{
  pull_view_t *v = xzalloc (sizeof *v);

  v->out = out;
  v->ref = xstrdup (ref);
  v->tty = tty;
  return v;
}

void
pull_view_free (pull_view_t *v)
{
  size_t i;

  if (v == NULL)
    return;
  for (i = 0; i < v->n_layers; i++)
    free (v->layers[i].message);
  free (v->layers);
  free (v->status);
  free (v->ref);
  free (v);
}

static void
set_text (char **at, const char *s)
{
  free (*at);
  *at = xstrdup (s ? s : "");
}

/* "[=========>               ]   12.3MB/40.1MB", as Docker's progress bar */
static void
put_bar (strbuf_t *b, uint64_t done, uint64_t total)
{
  enum
  {
    WIDTH = 25
  };
  cleanup_free char *d = human_size (done, 3);
  cleanup_free char *t = NULL;
  size_t fill, i;

  if (total == 0)
    {
      sb_printf (b, " %s", d);
      return;
    }
  t = human_size (total, 3);
  fill = done >= total ? WIDTH : (size_t)(done * WIDTH / total);
  sb_puts (b, " [");
  for (i = 0; i < WIDTH; i++)
    sb_putc (b, i < fill ? '=' : i == fill ? '>' : ' ');
  sb_printf (b, "] %8s/%s", d, t);
}

static void
layer_text (strbuf_t *b, const struct pull_layer *l)
{
  sb_printf (b, " %s  ", l->id);
  switch (l->phase)
    {
    case RT_PULL_EXISTS:
      sb_puts (b, "Already exists");
      break;
    case RT_PULL_DOWNLOADING:
      sb_puts (b, "Downloading");
      put_bar (b, l->done, l->total);
      break;
    case RT_PULL_RETRYING:
      sb_printf (b, "Retrying: %s", l->message ? l->message : "");
      break;
    case RT_PULL_VERIFYING:
      sb_puts (b, "Download complete");
      break;
    case RT_PULL_EXTRACTING:
      sb_puts (b, "Extracting");
      put_bar (b, l->done, l->total);
      break;
    case RT_PULL_COMPLETE:
      sb_puts (b, "Pull complete");
      break;
    default:
      sb_puts (b, "Pulling fs layer");
      break;
    }
}

static size_t
term_columns (FILE *out)
{
  struct winsize ws;

  if (ioctl (fileno (out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 80;
}

/* Go back over what was drawn and draw every line again; a line never
   wraps (it would throw the count of lines to go back over off). */
static void
redraw (pull_view_t *v)
{
  size_t cols = term_columns (v->out), lines = 1, i;
  strbuf_t b = { 0 };

  if (v->drawn > 0)
    sb_printf (&b, "\033[%zuA", v->drawn);
  sb_printf (&b, "\r\033[2K Image %.*s  %s\n", (int)(cols > 40 ? cols - 30 : 10), v->ref,
             v->status ? v->status : "Pulling");
  for (i = 0; i < v->n_layers; i++)
    if (v->layers[i].seen)
      {
        strbuf_t l = { 0 };
        layer_text (&l, &v->layers[i]);
        sb_printf (&b, "\r\033[2K%.*s\n", (int)(cols - 1), l.s);
        sb_free (&l);
        lines++;
      }
  fputs (b.s, v->out);
  fflush (v->out);
  sb_free (&b);
  v->drawn = lines;
  v->drawn_at = mono_ns ();
}

static struct pull_layer *
layer_of (pull_view_t *v, const rt_pull_progress_t *p)
{
  struct pull_layer *l;

  /* no digest: the image's own step (its manifest or config) */
  if (p->digest == NULL || p->n_layers == 0 || p->layer >= p->n_layers)
    return NULL;
  if (p->n_layers > v->n_layers)
    {
      v->layers = xrealloc (v->layers, p->n_layers * sizeof *v->layers);
      memset (v->layers + v->n_layers, 0, (p->n_layers - v->n_layers) * sizeof *v->layers);
      v->n_layers = p->n_layers;
    }
  l = &v->layers[p->layer];
  if (l->id[0] == '\0')
    {
      const char *hex = strchr (p->digest, ':');
      snprintf (l->id, sizeof l->id, "%s", hex ? hex + 1 : p->digest);
    }
  return l;
}

/* Plain output: a line for each step of a layer, each said once. */
static void
plain_layer (pull_view_t *v, struct pull_layer *l, const rt_pull_progress_t *p)
{
  if (!l->seen && p->phase != RT_PULL_EXISTS)
    fprintf (v->out, " %s  Pulling fs layer\n", l->id);
  switch (p->phase)
    {
    case RT_PULL_EXISTS:
      if (l->phase != RT_PULL_EXISTS || !l->seen)
        fprintf (v->out, " %s  Already exists\n", l->id);
      break;
    case RT_PULL_RETRYING:
      fprintf (v->out, " %s  Retrying: %s\n", l->id, p->message ? p->message : "");
      break;
    case RT_PULL_VERIFYING:
    case RT_PULL_EXTRACTING:
    case RT_PULL_COMPLETE:
      if (!l->downloaded)
        fprintf (v->out, " %s  Download complete\n", l->id);
      l->downloaded = true;
      if (p->phase == RT_PULL_COMPLETE && l->phase != RT_PULL_COMPLETE)
        fprintf (v->out, " %s  Pull complete\n", l->id);
      break;
    default:
      break;
    }
}

static void
pull_done (pull_view_t *v, const rt_pull_progress_t *p)
{
  set_text (&v->status, "Pulled");
  if (v->tty)
    redraw (v);
  else
    fprintf (v->out, " Image %s  Pulled\n", v->ref);
  if (p->digest)
    fprintf (v->out, " Digest: %s\n", p->digest);
  fflush (v->out);
}

void
pull_view_event (const rt_pull_progress_t *p, void *data)
{
  pull_view_t *v = data;
  struct pull_layer *l;
  bool counting = p->phase == RT_PULL_DOWNLOADING || p->phase == RT_PULL_EXTRACTING;

  if (v->status == NULL)
    {
      set_text (&v->status, "Pulling");
      if (!v->tty)
        fprintf (v->out, " Image %s  Pulling\n", v->ref);
    }
  if (p->phase == RT_PULL_DONE)
    {
      pull_done (v, p);
      return;
    }
  l = layer_of (v, p);
  if (l == NULL)
    {
      /* the manifest or the config: the image's own line says it */
      if (p->phase == RT_PULL_RETRYING)
        {
          cleanup_free char *s = xasprintf ("Retrying: %s", p->message ? p->message : "");
          set_text (&v->status, s);
          if (!v->tty)
            fprintf (v->out, " Image %s  %s\n", v->ref, s);
        }
    }
  else
    {
      if (!v->tty)
        plain_layer (v, l, p);
      if (p->phase == RT_PULL_RETRYING)
        set_text (&l->message, p->message);
      counting = counting && l->seen && l->phase == p->phase;
      l->seen = true;
      l->phase = p->phase;
      l->done = p->done;
      l->total = p->total;
    }
  if (!v->tty)
    fflush (v->out);
  else if (!counting || mono_ns () - v->drawn_at >= 100000000LL)
    redraw (v);
}
