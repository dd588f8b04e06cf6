/* node.c — the loader's tree, its typed scalar views, diagnostics, key paths
   and the interpolation environment. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose-internal.h"

/* ---- nodes ---- */

node_t *
node_new (arena_t *a, enum node_kind kind, mark_t mark)
{
  node_t *n = arena_alloc (a, sizeof *n);
  n->kind = kind;
  n->mark = mark;
  return n;
}

node_t *
node_new_str (arena_t *a, const char *s, mark_t mark)
{
  node_t *n = node_new (a, N_STR, mark);
  n->str = arena_strdup (a, s);
  return n;
}

node_t *
node_new_int (arena_t *a, long long v, mark_t mark)
{
  node_t *n = node_new (a, N_INT, mark);
  n->i = v;
  return n;
}

node_t *
node_new_bool (arena_t *a, bool v, mark_t mark)
{
  node_t *n = node_new (a, N_BOOL, mark);
  n->b = v;
  return n;
}

node_t *
node_copy (arena_t *a, const node_t *n)
{
  node_t *c;
  size_t i;

  if (n == NULL)
    return NULL;
  c = node_new (a, n->kind, n->mark);
  *c = *n;
  c->items = NULL;
  c->entries = NULL;
  c->len = c->cap = 0;
  if (n->kind == N_SEQ)
    for (i = 0; i < n->len; i++)
      node_seq_push (a, c, node_copy (a, n->items[i]));
  else if (n->kind == N_MAP)
    for (i = 0; i < n->len; i++)
      node_map_set_mark (a, c, n->entries[i].key, n->entries[i].key_mark,
                         node_copy (a, n->entries[i].value));
  return c;
}

/* Arena memory cannot be realloc'ed; grow by copying into a doubled block. */
static void *
grow (arena_t *a, void *old, size_t elem, size_t len, size_t *cap)
{
  void *p;
  if (len < *cap)
    return old;
  *cap = *cap ? *cap * 2 : 4;
  p = arena_alloc (a, elem * *cap);
  if (len)
    memcpy (p, old, elem * len);
  return p;
}

void
node_seq_push (arena_t *a, node_t *seq, node_t *item)
{
  seq->items = grow (a, seq->items, sizeof *seq->items, seq->len, &seq->cap);
  seq->items[seq->len++] = item;
}

node_entry_t *
node_map_find (const node_t *map, const char *key)
{
  size_t i;
  if (map == NULL || map->kind != N_MAP)
    return NULL;
  for (i = 0; i < map->len; i++)
    if (strcmp (map->entries[i].key, key) == 0)
      return &map->entries[i];
  return NULL;
}

node_t *
node_map_get (const node_t *map, const char *key)
{
  node_entry_t *e = node_map_find (map, key);
  return e ? e->value : NULL;
}

void
node_map_set_mark (arena_t *a, node_t *map, const char *key, mark_t key_mark, node_t *value)
{
  node_entry_t *e = node_map_find (map, key);
  if (e)
    {
      e->value = value;
      return;
    }
  map->entries = grow (a, map->entries, sizeof *map->entries, map->len, &map->cap);
  e = &map->entries[map->len++];
  e->key = arena_strdup (a, key);
  e->key_mark = key_mark;
  e->value = value;
}

void
node_map_set (arena_t *a, node_t *map, const char *key, node_t *value)
{
  node_map_set_mark (a, map, key, value ? value->mark : (mark_t){ 0 }, value);
}

bool
node_map_del (node_t *map, const char *key)
{
  node_entry_t *e = node_map_find (map, key);
  size_t i;
  if (e == NULL)
    return false;
  i = (size_t) (e - map->entries);
  memmove (e, e + 1, (map->len - i - 1) * sizeof *e);
  map->len--;
  return true;
}

static int
entry_cmp (const void *a, const void *b)
{
  return strcmp (((const node_entry_t *) a)->key, ((const node_entry_t *) b)->key);
}

void
node_map_sort (node_t *map)
{
  if (map->kind == N_MAP && map->len > 1)
    qsort (map->entries, map->len, sizeof *map->entries, entry_cmp);
}

bool
node_is_scalar (const node_t *n)
{
  return n && (n->kind == N_SCALAR || n->kind == N_STR || n->kind == N_INT || n->kind == N_FLOAT
               || n->kind == N_BOOL);
}

/* The shortest text that reads back as the same double: 0.3, not 0.29999999999999999. */
static const char *
format_double (arena_t *a, double v)
{
  char buf[64];
  int prec;
  for (prec = 1; prec < 17; prec++)
    {
      snprintf (buf, sizeof buf, "%.*g", prec, v);
      if (strtod (buf, NULL) == v)
        break;
    }
  snprintf (buf, sizeof buf, "%.*g", prec, v);
  return arena_strdup (a, buf);
}

const char *
node_text (arena_t *a, const node_t *n)
{
  if (n == NULL)
    return NULL;
  switch (n->kind)
    {
    case N_SCALAR:
    case N_STR:
      return n->str;
    case N_INT:
      return n->str ? n->str : arena_printf (a, "%lld", n->i);
    case N_FLOAT:
      return n->str ? n->str : format_double (a, n->f);
    case N_BOOL:
      return n->b ? "true" : "false";
    default:
      return NULL;
    }
}

const char *
node_kind_name (const node_t *n)
{
  if (n == NULL)
    return "nothing";
  switch (n->kind)
    {
    case N_NULL:
      return "null";
    case N_SCALAR:
      switch (scalar_resolve (n))
        {
        case N_NULL:
          return "null";
        case N_BOOL:
          return "a boolean";
        case N_INT:
        case N_FLOAT:
          return "a number";
        default:
          return "a string";
        }
    case N_STR:
      return "a string";
    case N_INT:
    case N_FLOAT:
      return "a number";
    case N_BOOL:
      return "a boolean";
    case N_SEQ:
      return "a list";
    case N_MAP:
      return "a mapping";
    }
  return "?";
}

/* ---- scalar typing ---- */

static bool
parse_int_text (const char *s, long long *out)
{
  char *end;
  int base = 10;
  const char *p = s;
  bool neg = false;
  unsigned long long v;

  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    base = 16, p += 2;
  else if (p[0] == '0' && p[1] == 'o')
    base = 8, p += 2;
  if (!isxdigit ((unsigned char) *p) || (base == 10 && !isdigit ((unsigned char) *p)))
    return false;
  errno = 0;
  v = strtoull (p, &end, base);
  if (errno != 0 || *end != '\0')
    return false;
  if (neg ? v > (unsigned long long) LLONG_MAX + 1 : v > (unsigned long long) LLONG_MAX)
    return false;
  *out = neg ? (long long) (0 - v) : (long long) v;
  return true;
}

static bool
parse_float_text (const char *s, double *out)
{
  char *end;
  double v;
  if (strcmp (s, ".inf") == 0 || strcmp (s, "+.inf") == 0 || strcmp (s, ".Inf") == 0)
    return *out = INFINITY, true;
  if (strcmp (s, "-.inf") == 0 || strcmp (s, "-.Inf") == 0)
    return *out = -INFINITY, true;
  if (strcmp (s, ".nan") == 0 || strcmp (s, ".NaN") == 0)
    return *out = NAN, true;
  /* strtod also takes "inf", "nan" and hex floats, which YAML does not */
  if (!(isdigit ((unsigned char) s[0]) || s[0] == '.' || s[0] == '-' || s[0] == '+'))
    return false;
  if (strpbrk (s, "xXnN") != NULL)
    return false;
  errno = 0;
  v = strtod (s, &end);
  if (errno != 0 || end == s || *end != '\0')
    return false;
  *out = v;
  return true;
}

enum node_kind
scalar_resolve (const node_t *n)
{
  long long i;
  double f;
  const char *s = n->str;

  if (n->kind != N_SCALAR)
    return n->kind;
  if (n->flags & NODE_QUOTED)
    return N_STR;
  if (*s == '\0' || strcmp (s, "~") == 0 || strcmp (s, "null") == 0 || strcmp (s, "Null") == 0
      || strcmp (s, "NULL") == 0)
    return N_NULL;
  if (strcmp (s, "true") == 0 || strcmp (s, "True") == 0 || strcmp (s, "TRUE") == 0
      || strcmp (s, "false") == 0 || strcmp (s, "False") == 0 || strcmp (s, "FALSE") == 0)
    return N_BOOL;
  if (parse_int_text (s, &i))
    return N_INT;
  if (parse_float_text (s, &f))
    return N_FLOAT;
  return N_STR;
}

bool
scalar_to_bool (const node_t *n, bool *out)
{
  static const char *const yes[] = { "true", "yes", "on", "y" };
  static const char *const no[] = { "false", "no", "off", "n" };
  size_t i;

  if (n == NULL)
    return false;
  if (n->kind == N_BOOL)
    return *out = n->b, true;
  if (n->kind != N_SCALAR && n->kind != N_STR)
    return false;
  for (i = 0; i < ARRAY_SIZE (yes); i++)
    {
      if (strcasecmp (n->str, yes[i]) == 0)
        return *out = true, true;
      if (strcasecmp (n->str, no[i]) == 0)
        return *out = false, true;
    }
  return false;
}

bool
scalar_to_int (const node_t *n, long long *out)
{
  if (n == NULL)
    return false;
  if (n->kind == N_INT)
    return *out = n->i, true;
  if (n->kind == N_FLOAT && n->f == floor (n->f) && fabs (n->f) < 9e18)
    return *out = (long long) n->f, true;
  if (n->kind != N_SCALAR && n->kind != N_STR)
    return false;
  return parse_int_text (n->str, out);
}

bool
scalar_to_double (const node_t *n, double *out)
{
  long long i;
  if (n == NULL)
    return false;
  if (n->kind == N_FLOAT)
    return *out = n->f, true;
  if (n->kind == N_INT)
    return *out = (double) n->i, true;
  if (n->kind != N_SCALAR && n->kind != N_STR)
    return false;
  if (parse_int_text (n->str, &i))
    return *out = (double) i, true;
  return parse_float_text (n->str, out);
}

/* ---- key paths ---- */

/* Keys that are not identifiers are quoted, so the path stays unambiguous. */
static bool
key_is_plain (const char *k)
{
  if (*k == '\0')
    return false;
  for (; *k; k++)
    if (!(isalnum ((unsigned char) *k) || *k == '_' || *k == '-' || *k == '/' || *k == '*'))
      return false;
  return true;
}

const char *
path_key (arena_t *a, const char *parent, const char *key)
{
  const char *k = key_is_plain (key) ? key : arena_printf (a, "\"%s\"", key);
  if (parent == NULL || *parent == '\0')
    return arena_strdup (a, k);
  return arena_printf (a, "%s.%s", parent, k);
}

const char *
path_index (arena_t *a, const char *parent, size_t i)
{
  return arena_printf (a, "%s[%zu]", parent ? parent : "", i);
}

/* ---- diagnostics ---- */

void
compose_diags_init (compose_diags_t *d)
{
  memset (d, 0, sizeof *d);
  d->arena = arena_new ();
}

void
compose_diags_free (compose_diags_t *d)
{
  arena_free (d->arena);
  memset (d, 0, sizeof *d);
}

static void
diag_push (compose_diags_t *d, mark_t m, const char *path, const char *msg, bool warning)
{
  compose_diag_t *x;

  if (!warning && d->errors >= DIAG_MAX_ERRORS)
    {
      d->truncated = true;
      return;
    }
  if (warning && d->len - d->errors >= DIAG_MAX_WARNINGS)
    {
      d->warnings_dropped++; /* a hundred warnings already say the file needs a look */
      return;
    }
  d->items = grow (d->arena, d->items, sizeof *d->items, d->len, &d->cap);
  x = &d->items[d->len++];
  x->file = m.src ? arena_strdup (d->arena, m.src->path) : NULL;
  x->line = m.line;
  x->col = m.col;
  x->path = path && *path ? arena_strdup (d->arena, path) : NULL;
  x->msg = arena_strdup (d->arena, msg);
  x->warning = warning;
  x->seq = d->len;
  if (!warning)
    d->errors++;
}

void
diag_error (ld_t *ld, mark_t m, const char *path, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;
  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  diag_push (ld->diags, m, path, msg, false);
}

/* Remember once_key; false if it was already seen. */
static bool
first_time (ld_t *ld, const char *once_key)
{
  if (once_key == NULL)
    return true;
  if (env_get (&ld->ignored, once_key) != NULL)
    return false;
  env_set (ld->arena, &ld->ignored, once_key, "");
  return true;
}

void
diag_warning (ld_t *ld, mark_t m, const char *path, const char *once_key, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  compose_diags_t *d = ld->diags;
  va_list ap;

  /* checked before first_time, whose set is searched linearly */
  if (d->len - d->errors >= DIAG_MAX_WARNINGS)
    {
      d->warnings_dropped++;
      return;
    }
  if (!first_time (ld, once_key))
    return;
  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  diag_push (ld->diags, m, path, msg, true);
}

void
diag_ignored (ld_t *ld, mark_t m, const char *path, const char *once_key, const char *why)
{
  diag_warning (ld, m, path, once_key, "ignored: %s", why);
}

bool
diag_full (const ld_t *ld)
{
  return ld->diags->errors >= DIAG_MAX_ERRORS;
}

static int
diag_cmp (const void *a, const void *b)
{
  const compose_diag_t *x = a, *y = b;
  int c;
  if (x->warning != y->warning)
    return x->warning ? -1 : 1; /* warnings first: errors end the output */
  if (x->file == NULL || y->file == NULL)
    return (x->file == NULL) - (y->file == NULL);
  c = strcmp (x->file, y->file);
  if (c)
    return c;
  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  if (x->col != y->col)
    return x->col < y->col ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq; /* stable: report order */
}

void
compose_diags_print (compose_diags_t *d, FILE *out)
{
  size_t i;

  if (d->len > 1) /* qsort (NULL, 0, ...) is undefined */
    qsort (d->items, d->len, sizeof *d->items, diag_cmp);
  for (i = 0; i < d->len; i++)
    {
      const compose_diag_t *x = &d->items[i];
      fputs (x->warning ? "stack: warning: " : "stack: ", out);
      if (x->file)
        fprintf (out, "%s:%u:%u: ", x->file, x->line, x->col);
      if (x->path)
        fprintf (out, "%s: ", x->path);
      fprintf (out, "%s\n", x->msg);
    }
  if (d->warnings_dropped)
    fprintf (out, "stack: warning: %zu more warnings not shown\n", d->warnings_dropped);
  if (d->truncated)
    fprintf (out, "stack: too many errors, stopped after %d\n", DIAG_MAX_ERRORS);
}

/* ---- environment ---- */

const char *
env_get (const env_t *e, const char *name)
{
  size_t i;
  for (i = e->len; i-- > 0;)
    if (strcmp (e->vars[i].name, name) == 0)
      return e->vars[i].value;
  return NULL;
}

void
env_set (arena_t *a, env_t *e, const char *name, const char *value)
{
  size_t i;
  for (i = 0; i < e->len; i++)
    if (strcmp (e->vars[i].name, name) == 0)
      {
        e->vars[i].value = arena_strdup (a, value);
        return;
      }
  e->vars = grow (a, e->vars, sizeof *e->vars, e->len, &e->cap);
  e->vars[e->len].name = arena_strdup (a, name);
  e->vars[e->len].value = arena_strdup (a, value);
  e->len++;
}

void
env_copy (arena_t *a, env_t *dst, const env_t *src)
{
  size_t i;
  for (i = 0; i < src->len; i++)
    env_set (a, dst, src->vars[i].name, src->vars[i].value);
}
