/* dotenv.c — the .env file format, as Docker Compose reads it (compose-go's
   dotenv package):

     # a comment                 blank lines and comments are skipped
     KEY=value                   whitespace around key and value trimmed
     export KEY=value            `export ` is allowed and ignored
     KEY: value                  the YAML-like form compose-go also takes
     KEY=value # comment         a comment after an unquoted value needs a blank before `#`
     KEY='literal $NOT'          single quotes: literal (only \' is an escape)
     KEY="a\tb ${X:-y}"          double quotes: escapes, then interpolation; may span lines
     KEY                         no `=`: the value of KEY in the environment, if set

   Unquoted and double-quoted values are interpolated; a name is looked up
   in `lookup` (the OS environment and earlier files) first, then among the
   keys this file defined above, as compose-go does.

   Where we are stricter than compose-go, the input is something it reads
   in a way nobody would mean: text after a closing quote other than a
   comment (compose-go starts a new statement there), an empty key, and a
   blank inside a key.  `KEY= # comment` is an empty value (the documented
   rule), where compose-go keeps "# comment". */
#include <string.h>

#include "interpolate-internal.h"

/* Environments are searched linearly (env_get, env_set), so a file with a
   million keys would take hours; no real env file comes near this. */
#define DOTENV_MAX_KEYS 10000

struct dotenv
{
  ld_t *ld;
  const source_t *src;
  const char *p; /* the next byte */
  unsigned line, col;
  const env_t *lookup;
  env_t mine; /* what this file defined so far */
  env_t *out;
  size_t total; /* bytes of values: a bound against blow-ups */
  bool failed, stop;
};

static bool
blank (char c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static bool
key_char (char c)
{
  unsigned char u = (unsigned char) c;
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
         || c == '.' || c == '-' || c == '[' || c == ']' || u >= 0x80; /* letters of any script */
}

static mark_t
here (const struct dotenv *d)
{
  return (mark_t){ .src = d->src, .line = d->line, .col = d->col };
}

/* Step over one byte; columns count characters, not the bytes of UTF-8. */
static void
adv (struct dotenv *d)
{
  if (*d->p == '\0')
    return;
  if (*d->p == '\n')
    {
      d->line++;
      d->col = 1;
    }
  else if (((unsigned char) d->p[1] & 0xC0) != 0x80)
    d->col++;
  d->p++;
}

static void
skip_blanks (struct dotenv *d)
{
  while (blank (*d->p))
    adv (d);
}

static void
skip_line (struct dotenv *d)
{
  while (*d->p && *d->p != '\n')
    adv (d);
}

static void fail (struct dotenv *d, mark_t m, const char *path, const char *fmt, ...)
    PRINTF_LIKE (4, 5);

static void
fail (struct dotenv *d, mark_t m, const char *path, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  diag_error (d->ld, m, path, "%s", msg);
  d->failed = true;
}

static void
define (struct dotenv *d, mark_t m, const char *key, const char *value)
{
  if (d->mine.len >= DOTENV_MAX_KEYS && env_get (&d->mine, key) == NULL)
    {
      fail (d, m, key, "more than %d variables in one env file; split it or trim it",
            DOTENV_MAX_KEYS);
      d->stop = true;
      return;
    }
  d->total += strlen (value);
  if (d->total > INTERP_MAX_TOTAL)
    {
      fail (d, m, key,
            "the values of this file expand to more than 64 MiB in all; check what the "
            "variables hold");
      d->stop = true;
      return;
    }
  env_set (d->ld->arena, &d->mine, key, value);
  env_set (d->ld->arena, d->out, key, value);
}

static void
define_expanded (struct dotenv *d, mark_t m, const char *key, const char *raw)
{
  const char *err = NULL;
  const char *v = interp_expand (d->ld, d->lookup, &d->mine, raw, m, key, &err);

  if (v == NULL)
    fail (d, m, key, "%s", err);
  else
    define (d, m, key, v);
}

/* One escape of a double-quoted value, `c` being the byte after `\`.
   `\$` stays `$$` so that interpolation makes it a literal `$`. */
static void
escape (struct dotenv *d, strbuf_t *b)
{
  char c = *d->p;
  const char *simple = "n\nr\rt\ta\ab\bf\fv\v\\\\\"\"";
  const char *s;
  unsigned v;

  for (s = simple; *s; s += 2)
    if (c == s[0])
      {
        sb_putc (b, s[1]);
        adv (d);
        return;
      }
  if (c == '$')
    {
      sb_puts (b, "$$");
      adv (d);
      return;
    }
  /* \0NNN: three octal digits after the 0, the code point as UTF-8 */
  if (c == '0' && d->p[1] >= '0' && d->p[1] <= '7' && d->p[2] >= '0' && d->p[2] <= '7'
      && d->p[3] >= '0' && d->p[3] <= '7')
    {
      v = (unsigned) (d->p[1] - '0') * 64 + (unsigned) (d->p[2] - '0') * 8
          + (unsigned) (d->p[3] - '0');
      if (v < 0x80)
        sb_putc (b, (char) v);
      else
        {
          sb_putc (b, (char) (0xC0 | (v >> 6)));
          sb_putc (b, (char) (0x80 | (v & 0x3F)));
        }
      adv (d), adv (d), adv (d), adv (d);
      return;
    }
  /* anything else keeps its backslash, as in compose-go */
  sb_putc (b, '\\');
  if (c != '\0')
    {
      sb_putc (b, c);
      adv (d);
    }
}

/* After a closing quote: blanks, then a comment or the end of the line. */
static void
after_quote (struct dotenv *d, const char *key)
{
  mark_t m;
  skip_blanks (d);
  if (*d->p == '\0' || *d->p == '\n')
    return;
  if (*d->p == '#')
    {
      skip_line (d);
      return;
    }
  m = here (d);
  fail (d, m, key,
        "unexpected text after the closing quote; quote the whole value, or start a "
        "comment with `#`");
  skip_line (d);
}

/* A quoted value; false when the quote is never closed (the rest of the
   file is swallowed, so parsing stops). */
static bool
quoted (struct dotenv *d, const char *key)
{
  char q = *d->p;
  mark_t m = here (d);
  strbuf_t b = { 0 };

  adv (d);
  while (*d->p && *d->p != q)
    {
      if (*d->p == '\\' && q == '"')
        {
          adv (d);
          escape (d, &b);
        }
      else if (*d->p == '\\' && d->p[1] == '\'')
        {
          sb_putc (&b, '\'');
          adv (d), adv (d);
        }
      else if (*d->p == '\\' && d->p[1] != '\0')
        {
          sb_put (&b, d->p, 2);
          adv (d), adv (d);
        }
      else
        {
          sb_putc (&b, *d->p);
          adv (d);
        }
    }
  if (*d->p != q)
    {
      fail (d, m, key, "unterminated quoted value: no closing %s", q == '"' ? "`\"`" : "`'`");
      sb_free (&b);
      return false;
    }
  adv (d);
  if (q == '"')
    define_expanded (d, m, key, b.s ? b.s : "");
  else
    define (d, m, key, b.s ? b.s : "");
  sb_free (&b);
  after_quote (d, key);
  return true;
}

/* An unquoted value: to the end of the line or a ` #` comment, trimmed. */
static void
unquoted (struct dotenv *d, const char *key)
{
  const char *start, *end;
  mark_t m;
  cleanup_free char *raw = NULL;

  skip_blanks (d);
  m = here (d);
  start = end = d->p;
  while (*d->p && *d->p != '\n')
    {
      if (*d->p == '#' && blank (d->p[-1]))
        break;
      adv (d);
      if (!blank (d->p[-1]))
        end = d->p;
    }
  skip_line (d);
  raw = xstrndup (start, (size_t) (end - start));
  define_expanded (d, m, key, raw);
}

/* KEY with no value: taken from the environment when it is set there. */
static void
inherited (struct dotenv *d, mark_t m, const char *key)
{
  const char *v = env_get (d->lookup, key);
  if (v)
    define (d, m, key, v);
}

static bool
starts_export (const char *p)
{
  return strncmp (p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t');
}

/* One statement; false when parsing cannot go on. */
static bool
statement (struct dotenv *d)
{
  const char *start, *kend;
  cleanup_free char *key = NULL;
  mark_t km, after, bad;
  size_t n;

  if (starts_export (d->p))
    {
      d->p += 6, d->col += 6;
      skip_blanks (d);
    }
  km = here (d);
  start = d->p;
  while (key_char (*d->p))
    adv (d);
  n = (size_t) (d->p - start);
  kend = d->p;
  after = here (d);
  skip_blanks (d);
  bad = here (d);
  if (*d->p == '=' || *d->p == ':')
    {
      if (n == 0)
        {
          fail (d, km, NULL, "a variable name is missing before `%c`", *d->p);
          skip_line (d);
          return true;
        }
      key = xstrndup (start, n);
      adv (d);
      skip_blanks (d);
      if (*d->p == '"' || *d->p == '\'')
        return quoted (d, key);
      unquoted (d, key);
      return true;
    }
  if (n > 0 && (*d->p == '\n' || *d->p == '\0' || (*d->p == '#' && d->p > kend)))
    {
      key = xstrndup (start, n);
      inherited (d, km, key);
      skip_line (d);
      return true;
    }
  if (n == 0 && (*d->p == '\0' || *d->p == '\n' || *d->p == '#'))
    fail (d, km, NULL, "`export` must be followed by a variable name");
  else if (n > 0 && key_char (*d->p))
    fail (d, after, NULL, "a variable name cannot contain a blank; write KEY=VALUE");
  else
    {
      size_t clen = 1;
      while (((unsigned char) d->p[clen] & 0xC0) == 0x80)
        clen++;
      fail (d, bad, NULL,
            "unexpected `%.*s` in a variable name; names hold letters, digits, `_`, `.`, `-`, `[` "
            "and `]`, followed by `=` and the value",
            (int) clen, d->p);
    }
  skip_line (d);
  return true;
}

int
dotenv_parse (ld_t *ld, const source_t *src, const char *text, const env_t *lookup, env_t *out)
{
  struct dotenv d
      = { .ld = ld, .src = src, .p = text, .line = 1, .col = 1, .lookup = lookup, .out = out };

  /* editors on Windows like to start a file with a byte-order mark */
  if (strncmp (d.p, "\xEF\xBB\xBF", 3) == 0)
    d.p += 3;
  for (;;)
    {
      while (blank (*d.p) || *d.p == '\n')
        adv (&d);
      if (*d.p == '\0' || d.stop || diag_full (ld))
        break;
      if (*d.p == '#')
        {
          skip_line (&d);
          continue;
        }
      if (!statement (&d))
        break;
    }
  return d.failed ? -1 : 0;
}
