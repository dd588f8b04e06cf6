/* interpolate.c — Compose's variable substitution: $VAR, ${VAR}, the
   default (:- -), required (:? ?) and alternative (:+ +) forms, and $$ for a
   literal $, in every scalar value of a tree.  Mapping keys are left alone,
   as compose-go leaves them.

   One deliberate difference from compose-go: the word after an operator is
   only evaluated when it is used (as a shell does), so `${A:-${B:?msg}}`
   with A set does not demand B.  Its syntax is always checked, so a broken
   default is an error whatever A holds, as in Compose. */
#include <stdlib.h>
#include <string.h>

#include "interpolate-internal.h"

struct interp
{
  ld_t *ld;
  const env_t *env, *fallback;
  const char *whole; /* the template; every fragment we parse points into it */
  mark_t mark;       /* where warnings go */
  const char *path;
  const char *err; /* the first failure (arena) */
};

static int expand (struct interp *x, const char *s, size_t n, strbuf_t *out, int depth);

static bool
name_start (char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
name_char (char c)
{
  return name_start (c) || (c >= '0' && c <= '9');
}

static const char *
env_get_n (const env_t *e, const char *name, size_t n)
{
  size_t i;
  if (e == NULL)
    return NULL;
  for (i = 0; i < e->len; i++)
    if (strncmp (e->vars[i].name, name, n) == 0 && e->vars[i].name[n] == '\0')
      return e->vars[i].value;
  return NULL;
}

static const char *
lookup (const struct interp *x, const char *name, size_t n)
{
  const char *v = env_get_n (x->env, name, n);
  return v ? v : env_get_n (x->fallback, name, n);
}

static bool
utf8_cont (char c)
{
  return ((unsigned char) c & 0xC0) == 0x80;
}

/* The template as a message shows it: about 60 bytes around `at`, control
   characters escaped, never cutting a UTF-8 character in two. */
static const char *
show (arena_t *a, const char *whole, const char *at)
{
  const size_t window = 60;
  size_t n = strlen (whole), from = 0, to, i;
  strbuf_t b = { 0 };
  const char *r;

  if (n > window && at)
    {
      size_t off = (size_t) (at - whole);
      from = off > window / 3 ? off - window / 3 : 0;
      while (from > 0 && utf8_cont (whole[from]))
        from--;
    }
  to = from + window < n ? from + window : n;
  while (to < n && utf8_cont (whole[to]))
    to++;
  if (from > 0)
    sb_puts (&b, "...");
  for (i = from; i < to; i++)
    {
      unsigned char c = (unsigned char) whole[i];
      if (c == '\n')
        sb_puts (&b, "\\n");
      else if (c == '\t')
        sb_puts (&b, "\\t");
      else if (c < 0x20 || c == 0x7f)
        sb_printf (&b, "\\x%02x", c);
      else
        sb_putc (&b, (char) c);
    }
  if (to < n)
    sb_puts (&b, "...");
  r = arena_strdup (a, b.s ? b.s : "");
  sb_free (&b);
  return r;
}

static int fail (struct interp *x, const char *fmt, ...) PRINTF_LIKE (2, 3);

static int
fail (struct interp *x, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  if (x->err)
    return -1;
  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  x->err = arena_strdup (x->ld->arena, msg);
  return -1;
}

static int bad_format (struct interp *x, const char *at, const char *fmt, ...) PRINTF_LIKE (3, 4);

/* A syntax error, worded as Compose words it, with the text around `at`. */
static int
bad_format (struct interp *x, const char *at, const char *fmt, ...)
{
  cleanup_free char *why = NULL;
  va_list ap;

  va_start (ap, fmt);
  why = xvasprintf (fmt, ap);
  va_end (ap);
  return fail (
      x, "invalid interpolation format in `%s`: %s; you may need to escape any $ with another $",
      show (x->ld->arena, x->whole, at), why);
}

static int
put (struct interp *x, strbuf_t *out, const char *s, size_t n)
{
  if (out == NULL) /* only checking the syntax */
    return 0;
  if (out->len + n > INTERP_MAX_VALUE)
    return fail (x, "the value expands to more than 1 MiB; check what its variables hold");
  sb_put (out, s, n);
  return 0;
}

/* The one place an unset variable is reported, once per name (diag_warning
   caps how many warnings a load keeps). */
static void
warn_unset (struct interp *x, const char *name, size_t n)
{
  cleanup_free char *var = NULL, *once = NULL;

  var = xstrndup (name, n);
  once = xasprintf ("var:%s", var);
  diag_warning (x->ld, x->mark, x->path, once, "variable %s is not set; using an empty string",
                var);
}

/* $NAME and ${NAME}: the value, or "" and a warning. */
static int
plain (struct interp *x, const char *name, size_t n, strbuf_t *out)
{
  const char *v;

  if (out == NULL)
    return 0;
  v = lookup (x, name, n);
  if (v == NULL)
    {
      warn_unset (x, name, n);
      return 0;
    }
  return put (x, out, v, strlen (v));
}

/* The inside of ${...}: `b` is what lies between the braces. */
static int
braced (struct interp *x, const char *b, size_t n, strbuf_t *out, int depth)
{
  size_t k = 0, p, wlen;
  const char *word, *v;
  strbuf_t msg = { 0 };
  bool colon, usable;

  if (n == 0 || !name_start (b[0]))
    return bad_format (x, b - 2,
                       "`${` must be followed by a variable name (letters, digits and `_`, not "
                       "starting with a digit)");
  while (k < n && name_char (b[k]))
    k++;
  if (k == n)
    return plain (x, b, n, out);
  colon = b[k] == ':';
  p = k + colon;
  if (p == n || (b[p] != '-' && b[p] != '?' && b[p] != '+'))
    {
      size_t clen = 1;
      if (p < n)
        while (p + clen < n && utf8_cont (b[p + clen]))
          clen++;
      return bad_format (x, b - 2,
                         "unexpected `%.*s` after `${%.*s`; expected `}`, `:-`, `-`, `:?`, `?`, "
                         "`:+` or `+`",
                         (int) clen, p < n ? b + p : "}", (int) p, b);
    }
  word = b + p + 1;
  wlen = n - p - 1;
  if (out == NULL)
    return expand (x, word, wlen, NULL, depth + 1);

  v = lookup (x, b, k);
  usable = v != NULL && (!colon || *v != '\0');
  switch (b[p])
    {
    case '-':
      if (!usable)
        return expand (x, word, wlen, out, depth + 1);
      if (put (x, out, v, strlen (v)) < 0)
        return -1;
      return expand (x, word, wlen, NULL, depth + 1);

    case '+':
      return expand (x, word, wlen, usable ? out : NULL, depth + 1);

    default: /* '?' */
      if (usable)
        {
          if (put (x, out, v, strlen (v)) < 0)
            return -1;
          return expand (x, word, wlen, NULL, depth + 1);
        }
      if (expand (x, word, wlen, &msg, depth + 1) == 0)
        {
          if (msg.len > 0)
            fail (x, "required variable %.*s is missing a value: %s", (int) k, b, msg.s);
          else
            fail (x, "required variable %.*s is missing a value", (int) k, b);
        }
      sb_free (&msg);
      return -1;
    }
}

/* Substitute s[0..n) into out; out NULL only checks the syntax. */
static int
expand (struct interp *x, const char *s, size_t n, strbuf_t *out, int depth)
{
  size_t i = 0;

  if (depth > INTERP_MAX_DEPTH)
    return fail (x,
                 "variables nested more than %d levels deep (`${A:-${B:-...}}`); simplify the "
                 "value",
                 INTERP_MAX_DEPTH);
  while (i < n)
    {
      const char *dollar = memchr (s + i, '$', n - i);
      size_t lit = dollar ? (size_t) (dollar - (s + i)) : n - i, j;
      int level;

      if (put (x, out, s + i, lit) < 0)
        return -1;
      i += lit;
      if (i == n)
        break;
      if (i + 1 < n && s[i + 1] == '$')
        {
          if (put (x, out, "$", 1) < 0)
            return -1;
          i += 2;
        }
      else if (i + 1 < n && name_start (s[i + 1]))
        {
          for (j = i + 1; j < n && name_char (s[j]); j++)
            ;
          if (plain (x, s + i + 1, j - i - 1, out) < 0)
            return -1;
          i = j;
        }
      else if (i + 1 < n && s[i + 1] == '{')
        {
          /* the matching brace: braces inside a default nest, as in a shell */
          for (j = i + 2, level = 1; j < n; j++)
            if (s[j] == '{')
              level++;
            else if (s[j] == '}' && --level == 0)
              break;
          if (j == n)
            return bad_format (x, s + i, "`${` is not closed by `}`");
          if (braced (x, s + i + 2, j - i - 2, out, depth) < 0)
            return -1;
          i = j + 1;
        }
      else
        return bad_format (x, s + i, "`$` must be followed by a name, `{` or `$`");
    }
  return 0;
}

const char *
interp_expand (ld_t *ld, const env_t *env, const env_t *fallback, const char *in, mark_t mark,
               const char *path, const char **errmsg)
{
  struct interp x
      = { .ld = ld, .env = env, .fallback = fallback, .whole = in, .mark = mark, .path = path };
  strbuf_t out = { 0 };
  const char *r;

  if (expand (&x, in, strlen (in), &out, 0) < 0)
    {
      sb_free (&out);
      *errmsg = x.err;
      return NULL;
    }
  r = arena_strdup (ld->arena, out.s ? out.s : "");
  sb_free (&out);
  return r;
}

const char *
interpolate_str (ld_t *ld, const env_t *env, const char *in, const char **errmsg)
{
  return interp_expand (ld, env, NULL, in, (mark_t){ 0 }, NULL, errmsg);
}

/* ---- the tree ---- */

/* The key path of a node, kept on the C stack as we descend and turned into
   text only when a message needs it: most values hold no `$`. */
struct seg
{
  const struct seg *up;
  const char *key; /* NULL: a list index */
  size_t index;
};

struct walk
{
  ld_t *ld;
  const env_t *env;
  size_t total; /* bytes produced so far: a bound against blow-ups */
  bool stopped;
};

static const char *
seg_path (arena_t *a, const struct seg *s)
{
  const char *parent;
  if (s == NULL)
    return NULL;
  parent = seg_path (a, s->up);
  return s->key ? path_key (a, parent, s->key) : path_index (a, parent, s->index);
}

static void
walk_scalar (struct walk *w, node_t *n, const struct seg *at)
{
  const char *path, *r, *err = NULL;

  if (n->str == NULL || strchr (n->str, '$') == NULL)
    return;
  path = seg_path (w->ld->arena, at);
  r = interp_expand (w->ld, w->env, NULL, n->str, n->mark, path, &err);
  if (r == NULL)
    {
      diag_error (w->ld, n->mark, path, "%s", err);
      return;
    }
  w->total += strlen (r);
  if (w->total > INTERP_MAX_TOTAL)
    {
      diag_error (w->ld, n->mark, path,
                  "the values of this file expand to more than 64 MiB in all; check what the "
                  "variables hold");
      w->stopped = true;
      return;
    }
  n->str = r;
}

static void
walk (struct walk *w, node_t *n, const struct seg *at)
{
  size_t i;

  if (n == NULL || w->stopped || diag_full (w->ld))
    return;
  switch (n->kind)
    {
    case N_SCALAR:
      walk_scalar (w, n, at);
      break;
    case N_SEQ:
      for (i = 0; i < n->len; i++)
        {
          struct seg s = { .up = at, .key = NULL, .index = i };
          walk (w, n->items[i], &s);
        }
      break;
    case N_MAP:
      for (i = 0; i < n->len; i++)
        {
          struct seg s = { .up = at, .key = n->entries[i].key, .index = 0 };
          walk (w, n->entries[i].value, &s);
        }
      break;
    default:
      break;
    }
}

void
interpolate_tree (ld_t *ld, const env_t *env, node_t *root)
{
  struct walk w = { .ld = ld, .env = env, .total = 0, .stopped = false };
  walk (&w, root, NULL);
}
