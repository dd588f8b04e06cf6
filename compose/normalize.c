/* normalize.c — the table-driven framework of normalization and the generic
   value handlers (strings, booleans, numbers, sizes, durations, lists and
   maps) that the per-object tables of normalize-*.c are made of. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "normalize-internal.h"

/* ---- small helpers ---- */

bool
nz_is_null (const node_t *n)
{
  return n == NULL || n->kind == N_NULL;
}

/* The YAML core schema, except that an empty plain scalar is a string: the
   parser already turned `key:` into N_NULL, so an empty N_SCALAR is what
   interpolation left of `${UNSET}`. */
static enum node_kind
resolve (const node_t *n)
{
  if (n->kind == N_SCALAR && n->str[0] == '\0')
    return N_STR;
  return scalar_resolve (n);
}

const char *
nz_scalar_text (const node_t *n)
{
  if (!node_is_scalar (n))
    return NULL;
  if (n->kind == N_BOOL)
    return n->b ? "true" : "false";
  return n->str ? n->str : NULL;
}

const char *
nz_what (nz_t *z, const node_t *n)
{
  if (nz_is_null (n))
    return "null (an empty value)";
  switch (n->kind == N_SCALAR ? resolve (n) : n->kind)
    {
    case N_SEQ:
      return "a list";
    case N_MAP:
      return "a mapping";
    case N_BOOL:
      return arena_printf (z->a, "the boolean %s", node_text (z->a, n));
    case N_INT:
    case N_FLOAT:
      return arena_printf (z->a, "the number %s", node_text (z->a, n));
    default:
      return arena_printf (z->a, "\"%s\"", node_text (z->a, n));
    }
}

node_t *
nz_type_error (nz_t *z, const node_t *n, const char *path, const char *expected)
{
  diag_error (z->ld, n ? n->mark : (mark_t){ 0 }, path, "must be %s, not %s", expected,
              nz_what (z, n));
  return NULL;
}

node_t *
nz_str (nz_t *z, const char *s, const node_t *from)
{
  return node_new_str (z->a, s, from ? from->mark : (mark_t){ 0 });
}

node_t *
nz_int (nz_t *z, long long v, const node_t *from)
{
  return node_new_int (z->a, v, from ? from->mark : (mark_t){ 0 });
}

node_t *
nz_bool (nz_t *z, bool v, const node_t *from)
{
  return node_new_bool (z->a, v, from ? from->mark : (mark_t){ 0 });
}

node_t *
nz_float (nz_t *z, double v, const node_t *from)
{
  node_t *n;
  /* Go prints a whole float32 without a fraction: cpus: 2 → 2 */
  if (v == floor (v) && fabs (v) < 1e15)
    return nz_int (z, (long long)v, from);
  n = node_new (z->a, N_FLOAT, from ? from->mark : (mark_t){ 0 });
  n->f = v;
  return n;
}

node_t *
nz_map (nz_t *z, const node_t *from)
{
  return node_new (z->a, N_MAP, from ? from->mark : (mark_t){ 0 });
}

node_t *
nz_seq (nz_t *z, const node_t *from)
{
  return node_new (z->a, N_SEQ, from ? from->mark : (mark_t){ 0 });
}

node_t *
nz_plain (nz_t *z, const node_t *in)
{
  node_t *out;
  size_t i;

  if (in == NULL)
    return NULL;
  switch (in->kind == N_SCALAR ? resolve (in) : in->kind)
    {
    case N_NULL:
      return node_new (z->a, N_NULL, in->mark);
    case N_BOOL:
      {
        bool b = false;
        scalar_to_bool (in, &b);
        return nz_bool (z, b, in);
      }
    case N_INT:
      {
        long long v = 0;
        scalar_to_int (in, &v);
        out = nz_int (z, v, in);
        out->str = in->str;
        return out;
      }
    case N_FLOAT:
      out = node_new (z->a, N_FLOAT, in->mark);
      scalar_to_double (in, &out->f);
      out->str = in->str;
      return out;
    case N_SEQ:
      out = nz_seq (z, in);
      for (i = 0; i < in->len; i++)
        node_seq_push (z->a, out, nz_plain (z, in->items[i]));
      return out;
    case N_MAP:
      out = nz_map (z, in);
      for (i = 0; i < in->len; i++)
        node_map_set_mark (z->a, out, in->entries[i].key, in->entries[i].key_mark,
                           nz_plain (z, in->entries[i].value));
      return out;
    default:
      return nz_str (z, in->str ? in->str : "", in);
    }
}

/* ---- objects ---- */

/* Optimal string alignment distance, capped: only small ones matter. */
size_t
nz_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b), i, j, r;
  size_t *d;

  if (la > 40 || lb > 40)
    return 99;
  d = xmalloc ((la + 1) * (lb + 1) * sizeof *d);
#define D(x, y) d[(x) * (lb + 1) + (y)]
  for (i = 0; i <= la; i++)
    D (i, 0) = i;
  for (j = 0; j <= lb; j++)
    D (0, j) = j;
  for (i = 1; i <= la; i++)
    for (j = 1; j <= lb; j++)
      {
        size_t cost = a[i - 1] != b[j - 1], best = D (i - 1, j - 1) + cost;
        if (D (i - 1, j) + 1 < best)
          best = D (i - 1, j) + 1;
        if (D (i, j - 1) + 1 < best)
          best = D (i, j - 1) + 1;
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
            && D (i - 2, j - 2) + 1 < best)
          best = D (i - 2, j - 2) + 1;
        D (i, j) = best;
      }
  r = D (la, lb);
#undef D
  free (d);
  return r;
}

const char *
nz_suggest (const char *key, const nz_key_t *keys, size_t n)
{
  const char *best = NULL;
  size_t i, bd = 3;
  for (i = 0; i < n; i++)
    {
      size_t dd = nz_distance (key, keys[i].name);
      if (dd < bd && dd < strlen (key))
        bd = dd, best = keys[i].name;
    }
  return best;
}

static void
unknown_key (nz_t *z, const node_entry_t *e, const char *path, const nz_obj_t *obj)
{
  const char *hint = nz_suggest (e->key, obj->keys, obj->n);
  strbuf_t sb = { 0 };
  size_t i;

  if (hint)
    {
      diag_error (z->ld, e->key_mark, path, "unknown key in %s; did you mean `%s`?", obj->what,
                  hint);
      return;
    }
  if (obj->n > 12)
    {
      diag_error (z->ld, e->key_mark, path,
                  "unknown key in %s (not in the compose specification; name your own keys x-*)",
                  obj->what);
      return;
    }
  for (i = 0; i < obj->n; i++)
    sb_printf (&sb, "%s%s", i ? ", " : "", obj->keys[i].name);
  if (obj->allow_x)
    sb_puts (&sb, ", x-*");
  diag_error (z->ld, e->key_mark, path, "unknown key in %s; expected one of: %s", obj->what,
              sb.s ? sb.s : "");
  sb_free (&sb);
}

static const nz_key_t *
find_key (const nz_obj_t *obj, const char *name)
{
  size_t i;
  for (i = 0; i < obj->n; i++)
    if (strcmp (obj->keys[i].name, name) == 0)
      return &obj->keys[i];
  return NULL;
}

node_t *
nz_object (nz_t *z, const node_t *in, const char *path, const nz_obj_t *obj)
{
  node_t *out;
  size_t i;

  if (nz_is_null (in))
    return nz_map (z, in);
  if (in->kind != N_MAP)
    return nz_type_error (z, in, path, "a mapping (key: value lines)");
  out = nz_map (z, in);
  for (i = 0; i < in->len && !diag_full (z->ld); i++)
    {
      const node_entry_t *e = &in->entries[i];
      const char *kpath = path_key (z->a, path, e->key);
      const nz_key_t *k;
      node_t *v;

      if (str_has_prefix (e->key, "x-") && obj->allow_x)
        {
          node_map_set_mark (z->a, out, e->key, e->key_mark, nz_plain (z, e->value));
          continue;
        }
      k = find_key (obj, e->key);
      if (k == NULL)
        {
          unknown_key (z, e, kpath, obj);
          continue;
        }
      if (k->ignored)
        diag_ignored (z->ld, e->key_mark, kpath, arena_printf (z->a, "%s.%s", obj->scope, k->name),
                      k->ignored);
      v = k->fn (z, e->value, kpath, k);
      if (v)
        node_map_set_mark (z->a, out, e->key, e->key_mark, v);
    }
  return out;
}

node_t *
nz_h_object (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  return nz_object (z, in, path, k->arg);
}

node_t *
nz_h_obj_list (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  size_t i;
  if (in == NULL || in->kind != N_SEQ)
    return nz_type_error (z, in, path, "a list");
  out = nz_seq (z, in);
  for (i = 0; i < in->len; i++)
    {
      node_t *v = nz_object (z, in->items[i], path_index (z->a, path, i), k->arg);
      if (v)
        node_seq_push (z->a, out, v);
    }
  return out;
}

/* ---- scalars ---- */

node_t *
nz_h_str (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  if (!node_is_scalar (in))
    return nz_type_error (z, in, path, "a string");
  if (resolve (in) == N_BOOL)
    {
      diag_error (z->ld, in->mark, path, "must be a string, not the boolean %s; quote it: \"%s\"",
                  in->str, in->str);
      return NULL;
    }
  return nz_str (z, nz_scalar_text (in), in);
}

node_t *
nz_h_enum (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  const char *const *w;
  const char *s;
  strbuf_t sb = { 0 };

  if (!node_is_scalar (in))
    return nz_type_error (z, in, path, "a string");
  s = nz_scalar_text (in);
  for (w = k->arg; *w; w++)
    if (strcmp (*w, s) == 0)
      return nz_str (z, s, in);
  for (w = k->arg; *w; w++)
    sb_printf (&sb, "%s%s", w == k->arg ? "" : ", ", *w);
  diag_error (z->ld, in->mark, path, "`%s` is not one of: %s", s, sb.s);
  sb_free (&sb);
  return NULL;
}

node_t *
nz_h_bool (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  bool b;
  if (!scalar_to_bool (in, &b))
    return nz_type_error (z, in, path, "a boolean (true or false)");
  return nz_bool (z, b, in);
}

node_t *
nz_h_int (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  const nz_range_t *r = k ? k->arg : NULL;
  long long v;

  if (!scalar_to_int (in, &v))
    return nz_type_error (z, in, path, "a whole number");
  if (r && (v < r->min || v > r->max))
    {
      if (r->max >= (1LL << 62))
        diag_error (z->ld, in->mark, path, "%lld is out of range: must be %lld or more", v, r->min);
      else
        diag_error (z->ld, in->mark, path, "%lld is out of range: must be %lld to %lld", v, r->min,
                    r->max);
      return NULL;
    }
  return nz_int (z, v, in);
}

node_t *
nz_h_float (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  double v;
  if (!scalar_to_double (in, &v) || !isfinite (v))
    return nz_type_error (z, in, path, "a number");
  if (v < 0)
    {
      diag_error (z->ld, in->mark, path, "must not be negative (%s)", node_text (z->a, in));
      return NULL;
    }
  return nz_float (z, v, in);
}

/* Sizes print as decimal strings, as compose-go marshals UnitBytes. */
node_t *
nz_h_bytes (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  int64_t b;
  long long v;
  const char *s;

  if (scalar_to_int (in, &v) && resolve (in) == N_INT)
    {
      if (v < 0 && !(v == -1 && k && k->arg))
        {
          diag_error (z->ld, in->mark, path, "a size must not be negative (%lld)", v);
          return NULL;
        }
      return nz_str (z, arena_printf (z->a, "%lld", v), in);
    }
  s = nz_scalar_text (in);
  if (s == NULL || resolve (in) == N_BOOL)
    return nz_type_error (z, in, path, "a size such as 512m or 1g (units b, k, m, g)");
  if (k && k->arg && strcmp (s, "-1") == 0)
    return nz_str (z, "-1", in);
  if (!bytes_parse (s, &b))
    {
      diag_error (z->ld, in->mark, path,
                  "`%s` is not a size; write a number of bytes or one with a unit, such as 512m "
                  "or 1g (units b, k, m, g)",
                  s);
      return NULL;
    }
  return nz_str (z, arena_printf (z->a, "%" PRId64, b), in);
}

node_t *
nz_h_duration (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  int64_t ns;
  const char *s;

  if (!node_is_scalar (in) || resolve (in) == N_BOOL)
    return nz_type_error (z, in, path, "a duration such as 30s, 1m30s or 500ms");
  s = nz_scalar_text (in);
  if (!duration_parse (s, &ns))
    {
      diag_error (z->ld, in->mark, path,
                  "`%s` is not a duration; write a number with a unit, such as 30s, 1m30s or "
                  "500ms (units ns, us, ms, s, m, h)",
                  s);
      return NULL;
    }
  if (ns < 0)
    {
      diag_error (z->ld, in->mark, path, "a duration must not be negative (%s)", s);
      return NULL;
    }
  return nz_str (z, duration_format (z->a, ns), in);
}

node_t *
nz_h_abs_path (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *v = nz_h_str (z, in, path, k);
  if (v && v->str[0] != '/')
    {
      diag_error (z->ld, in->mark, path,
                  "`%s` must be an absolute path inside the container (starting with /)", v->str);
      return NULL;
    }
  return v;
}

/* A path on the host, relative to the directory of the file it is written in. */
node_t *
nz_h_host_path (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *v = nz_h_str (z, in, path, k);
  if (v == NULL)
    return NULL;
  if (v->str[0] == '\0')
    {
      diag_error (z->ld, in->mark, path, "must not be empty; give a path");
      return NULL;
    }
  v->str = path_resolve (z->ld, node_base_dir (z->ld, in), v->str);
  return v;
}

/* Build attestations and the like: true/false or a string of options. */
node_t *
nz_h_str_or_bool (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  if (!node_is_scalar (in))
    return nz_type_error (z, in, path, "a string or a boolean");
  return nz_str (z, nz_scalar_text (in), in);
}

/* File modes: 0440 and "0440" are octal, as in chmod; printed "0440". */
node_t *
nz_h_file_mode (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  const char *s = nz_scalar_text (in);
  char *end;
  long v;

  if (s == NULL || resolve (in) == N_BOOL || *s == '\0')
    return nz_type_error (z, in, path, "a file mode such as 0440");
  if (str_has_prefix (s, "0o"))
    s += 2;
  if (s[0] == '0' || in->kind != N_SCALAR || (in->flags & NODE_QUOTED))
    v = strtol (s, &end, 8);
  else
    v = strtol (s, &end, 10);
  if (*end != '\0' || v < 0 || v > 07777)
    {
      diag_error (z->ld, in->mark, path, "`%s` is not a file mode; write it in octal, such as 0440",
                  nz_scalar_text (in));
      return NULL;
    }
  return nz_str (z, arena_printf (z->a, "0%lo", (unsigned long)v), in);
}

node_t *
nz_h_plain (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  return nz_plain (z, in);
}

node_t *
nz_h_drop (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  return NULL;
}

/* ---- collections ---- */

static node_t *
str_list (nz_t *z, const node_t *in, const char *path, bool unique)
{
  node_t *out;
  size_t i, j;

  if (in == NULL || in->kind != N_SEQ)
    return nz_type_error (z, in, path, "a list of strings");
  out = nz_seq (z, in);
  for (i = 0; i < in->len; i++)
    {
      const node_t *it = in->items[i];
      const char *ip = path_index (z->a, path, i);
      node_t *v = nz_h_str (z, it, ip, NULL);
      if (v == NULL)
        continue;
      if (unique)
        for (j = 0; j < out->len; j++)
          if (strcmp (out->items[j]->str, v->str) == 0)
            {
              diag_error (z->ld, it->mark, ip, "`%s` is listed twice (first at line %u)", v->str,
                          out->items[j]->mark.line);
              v = NULL;
              break;
            }
      if (v)
        node_seq_push (z->a, out, v);
    }
  return out;
}

node_t *
nz_h_str_list (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  return str_list (z, in, path, true);
}

node_t *
nz_h_str_list_dup (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  return str_list (z, in, path, false);
}

node_t *
nz_h_str_or_list (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  if (node_is_scalar (in))
    {
      node_t *v = nz_h_str (z, in, path, NULL);
      if (v == NULL)
        return NULL;
      out = nz_seq (z, in);
      node_seq_push (z->a, out, v);
      return out;
    }
  if (in && in->kind == N_SEQ)
    return str_list (z, in, path, true);
  return nz_type_error (z, in, path, "a string or a list of strings");
}

/* Shared by the list_or_dict maps: `KEY=VALUE` items or a mapping.
   `nullable`: `KEY` alone / `KEY:` null stay null (environment), else "". */
static node_t *
list_or_dict (nz_t *z, const node_t *in, const char *path, bool nullable)
{
  node_t *out;
  size_t i;

  if (in == NULL || (in->kind != N_SEQ && in->kind != N_MAP))
    return nz_type_error (z, in, path, "a mapping (KEY: value) or a list of KEY=value strings");
  out = nz_map (z, in);
  if (in->kind == N_SEQ)
    {
      for (i = 0; i < in->len; i++)
        {
          const node_t *it = in->items[i];
          const char *ip = path_index (z->a, path, i);
          const char *s, *eq;
          node_t *v = nz_h_str (z, it, ip, NULL);
          if (v == NULL)
            continue;
          s = v->str;
          eq = strchr (s, '=');
          if (s[0] == '=' || s[0] == '\0')
            {
              diag_error (z->ld, it->mark, ip, "`%s` has no name before `=`; write KEY=value", s);
              continue;
            }
          if (eq)
            node_map_set_mark (z->a, out, arena_strndup (z->a, s, (size_t)(eq - s)), it->mark,
                               nz_str (z, eq + 1, it));
          else
            node_map_set_mark (z->a, out, s, it->mark,
                               nullable ? node_new (z->a, N_NULL, it->mark) : nz_str (z, "", it));
        }
      return out;
    }
  for (i = 0; i < in->len; i++)
    {
      const node_entry_t *e = &in->entries[i];
      const char *kp = path_key (z->a, path, e->key);
      node_t *v;
      if (nz_is_null (e->value))
        v = nullable ? node_new (z->a, N_NULL, e->key_mark) : nz_str (z, "", e->value);
      else if (node_is_scalar (e->value))
        v = nz_str (z, nz_scalar_text (e->value), e->value);
      else
        {
          nz_type_error (z, e->value, kp, "a string, a number or a boolean");
          continue;
        }
      node_map_set_mark (z->a, out, e->key, e->key_mark, v);
    }
  return out;
}

node_t *
nz_h_str_map (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  return list_or_dict (z, in, path, false);
}

node_t *
nz_h_env_map (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out = list_or_dict (z, in, path, true);
  size_t i;

  /* `KEY` without a value takes it from the environment compose runs in */
  for (i = 0; out && i < out->len; i++)
    if (out->entries[i].value->kind == N_NULL)
      {
        const char *v = env_get (&z->ld->env, out->entries[i].key);
        if (v)
          out->entries[i].value = nz_str (z, v, out->entries[i].value);
      }
  return out;
}

/* driver_opts, logging options: a mapping of scalars, all kept as strings. */
node_t *
nz_h_options (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  if (in == NULL || in->kind != N_MAP)
    return nz_type_error (z, in, path, "a mapping (key: value)");
  return list_or_dict (z, in, path, false);
}
