/* syntax.c — Compose's short syntaxes as small pure parsers: Go durations,
   Docker's byte sizes, "8080:80/udp" ports, "./src:/dst:ro" volumes and
   shell-word commands.  Each follows the Go code Docker Compose runs
   (time.ParseDuration, go-units, go-connections/nat, compose-go's
   format.ParseVolume, go-shellwords), so a file means here what it means
   there; where that code silently guesses, we report an error instead. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "compose-internal.h"

/* ------------------------------------------------------------------ */
/* Durations: Go's time.ParseDuration and Duration.String               */
/* ------------------------------------------------------------------ */

#define NS_PER_US 1000ULL
#define NS_PER_MS (1000 * NS_PER_US)
#define NS_PER_S (1000 * NS_PER_MS)
#define NS_PER_MIN (60 * NS_PER_S)
#define NS_PER_HOUR (60 * NS_PER_MIN)
#define INT64_LIMIT (1ULL << 63) /* |INT64_MIN| */

static const struct
{
  const char *name;
  uint64_t ns;
} duration_units[] = {
  { "ns", 1 },
  { "us", NS_PER_US },
  { "\xc2\xb5s", NS_PER_US }, /* U+00B5 MICRO SIGN */
  { "\xce\xbcs", NS_PER_US }, /* U+03BC GREEK SMALL LETTER MU */
  { "ms", NS_PER_MS },
  { "s", NS_PER_S },
  { "m", NS_PER_MIN },
  { "h", NS_PER_HOUR },
};

bool
duration_parse (const char *s, int64_t *ns)
{
  uint64_t total = 0;
  bool neg = false;

  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (strcmp (s, "0") == 0)
    return *ns = 0, true;
  if (*s == '\0')
    return false;

  while (*s)
    {
      uint64_t v = 0, frac = 0, unit = 0;
      double scale = 1;
      bool digits = false;
      size_t i, ulen;

      if (!(*s == '.' || isdigit ((unsigned char)*s)))
        return false;
      for (; isdigit ((unsigned char)*s); s++, digits = true)
        {
          if (v > INT64_LIMIT / 10)
            return false;
          v = v * 10 + (uint64_t)(*s - '0');
          if (v > INT64_LIMIT)
            return false;
        }
      if (*s == '.')
        {
          /* Digits past uint64 precision are read and ignored, as Go does. */
          bool full = false;
          for (s++; isdigit ((unsigned char)*s); s++, digits = true)
            {
              if (full || frac > (INT64_LIMIT - 1) / 10)
                {
                  full = true;
                  continue;
                }
              frac = frac * 10 + (uint64_t)(*s - '0');
              scale *= 10;
            }
        }
      if (!digits)
        return false; /* "." or ".s" */

      for (ulen = 0; s[ulen] && s[ulen] != '.' && !isdigit ((unsigned char)s[ulen]); ulen++)
        ;
      for (i = 0; i < ARRAY_SIZE (duration_units) && unit == 0; i++)
        if (strlen (duration_units[i].name) == ulen
            && strncmp (s, duration_units[i].name, ulen) == 0)
          unit = duration_units[i].ns;
      if (unit == 0)
        return false; /* missing or unknown unit */
      s += ulen;

      if (v > INT64_LIMIT / unit)
        return false;
      v *= unit;
      if (frac > 0)
        {
          /* double keeps fractions of hours nanosecond-exact, as in Go */
          v += (uint64_t)((double)frac * ((double)unit / scale));
          if (v > INT64_LIMIT)
            return false;
        }
      total += v;
      if (total > INT64_LIMIT)
        return false;
    }
  if (!neg && total > INT64_LIMIT - 1)
    return false;
  *ns = neg ? (int64_t)(0 - total) : (int64_t)total;
  return true;
}

/* Write the decimals of v / 10^prec backwards before *w, without trailing
   zeros (nor the point when all are zero); return v / 10^prec. */
static uint64_t
fmt_frac (char **w, uint64_t v, int prec)
{
  bool print = false;
  int i;
  for (i = 0; i < prec; i++, v /= 10)
    {
      print = print || v % 10 != 0;
      if (print)
        *--*w = (char)('0' + v % 10);
    }
  if (print)
    *--*w = '.';
  return v;
}

static void
fmt_int (char **w, uint64_t v)
{
  do
    *--*w = (char)('0' + v % 10);
  while ((v /= 10) > 0);
}

const char *
duration_format (arena_t *a, int64_t ns)
{
  char buf[40], *w = buf + sizeof buf - 1;
  uint64_t u = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;

  *w = '\0';
  *--w = 's';
  if (u == 0)
    *--w = '0';
  else if (u < NS_PER_S)
    {
      /* below a second Go picks the unit: 1.5µs, 100ms, 42ns */
      int prec = 0;
      if (u < NS_PER_US)
        *--w = 'n';
      else if (u < NS_PER_MS)
        {
          w -= 2;
          memcpy (w, "\xc2\xb5", 2);
          prec = 3;
        }
      else
        {
          *--w = 'm';
          prec = 6;
        }
      fmt_int (&w, fmt_frac (&w, u, prec));
    }
  else
    {
      u = fmt_frac (&w, u, 9); /* now whole seconds */
      fmt_int (&w, u % 60);
      if ((u /= 60) > 0)
        {
          *--w = 'm';
          fmt_int (&w, u % 60);
          if ((u /= 60) > 0)
            {
              *--w = 'h';
              fmt_int (&w, u);
            }
        }
    }
  if (ns < 0)
    *--w = '-';
  return arena_strdup (a, w);
}

/* ------------------------------------------------------------------ */
/* Byte sizes: go-units RAMInBytes                                      */
/* ------------------------------------------------------------------ */

/* Go's strconv.ParseFloat syntax, less what go-units turns into garbage
   (Inf and NaN become INT64_MIN there): [+-] decimal mantissa with an
   optional exponent, or a hexadecimal mantissa with a binary exponent. */
static bool
go_float_syntax (const char *s)
{
  bool hex, mant = false;
  int (*is_digit) (int);

  if (*s == '+' || *s == '-')
    s++;
  hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if (hex)
    s += 2;
  is_digit = hex ? isxdigit : isdigit;
  for (; is_digit ((unsigned char)*s); s++)
    mant = true;
  if (*s == '.')
    for (s++; is_digit ((unsigned char)*s); s++)
      mant = true;
  if (!mant)
    return false;
  if (hex ? (*s == 'p' || *s == 'P') : (*s == 'e' || *s == 'E'))
    {
      s++;
      if (*s == '+' || *s == '-')
        s++;
      if (!isdigit ((unsigned char)*s))
        return false;
      s += strspn (s, "0123456789");
    }
  else if (hex)
    return false; /* Go wants the exponent of a hex float */
  return *s == '\0';
}

/* go-units (v0.5.0, as compose-go pins it): the number runs to the last
   digit, dot or space (a space there is dropped), then an optional suffix
   b, K, KB, KiB, M, ... P, PiB in any case: "512m", "1.5GB", "32 kib". */
bool
bytes_parse (const char *s, int64_t *bytes)
{
  static const char units[] = "kmgtp";
  cleanup_free char *num = NULL;
  char sfx[4] = "";
  size_t sep, i;
  double v;

  for (sep = strlen (s); sep > 0 && strchr ("0123456789. ", s[sep - 1]) == NULL; sep--)
    ;
  if (sep-- == 0)
    return false; /* not one digit */
  num = xstrndup (s, s[sep] == ' ' ? sep : sep + 1);
  if (strlen (s + sep + 1) > 3 || !go_float_syntax (num))
    return false;
  for (i = 0; s[sep + 1 + i]; i++)
    sfx[i] = (char)tolower ((unsigned char)s[sep + 1 + i]);

  v = strtod (num, NULL);
  if (v < 0)
    return false;
  if (sfx[0] == 'b' && sfx[1] != '\0')
    return false;
  if (sfx[0] != '\0' && sfx[0] != 'b')
    {
      const char *u = strchr (units, sfx[0]);
      if (u == NULL)
        return false;
      if ((sfx[1] != '\0' && sfx[2] == '\0' && sfx[1] != 'b')
          || (sfx[2] != '\0' && strcmp (sfx + 1, "ib") != 0))
        return false;
      v *= (double)(1ULL << (10 * (u - units + 1)));
    }
  if (v >= 9223372036854775808.0)
    return false; /* Go's int64 () would wrap around; a size that large is a typo */
  *bytes = (int64_t)v;
  return true;
}

/* ------------------------------------------------------------------ */
/* Ports: go-connections' nat.ParsePortSpec, as compose-go calls it    */
/* ------------------------------------------------------------------ */

#define PORT_SYNTAX "write [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"8080:80\""

enum range_status
{
  RANGE_OK,
  RANGE_NOT_NUMBER,
  RANGE_OUT_OF_BOUNDS,
  RANGE_REVERSED,
};

/* A port number: ASCII digits only, no sign. -1 when not a number. */
static long
port_number (const char *s, size_t len)
{
  long v = 0;
  size_t i;
  if (len == 0)
    return -1;
  for (i = 0; i < len; i++)
    {
      if (!isdigit ((unsigned char)s[i]))
        return -1;
      if (v <= 65536)
        v = v * 10 + (s[i] - '0');
    }
  return v;
}

/* "80" or "8000-8010"; the low end must be at least `min`. */
static enum range_status
port_range (const char *s, long min, long *start, long *end)
{
  const char *dash = strchr (s, '-');
  size_t len = dash ? (size_t)(dash - s) : strlen (s);

  *start = port_number (s, len);
  *end = dash ? port_number (dash + 1, strlen (dash + 1)) : *start;
  if (*start < 0 || *end < 0)
    return RANGE_NOT_NUMBER;
  if (*start < min || *start > 65535 || *end < min || *end > 65535)
    return RANGE_OUT_OF_BOUNDS;
  if (*end < *start)
    return RANGE_REVERSED;
  return RANGE_OK;
}

static bool
port_range_check (ld_t *ld, const node_t *n, const char *path, const char *text, const char *what,
                  enum range_status st, const char *range)
{
  switch (st)
    {
    case RANGE_OK:
      return true;
    case RANGE_NOT_NUMBER:
      diag_error (ld, n->mark, path, "\"%s\": %s port \"%s\" is not a number; " PORT_SYNTAX, text,
                  what, range);
      return false;
    case RANGE_OUT_OF_BOUNDS:
      diag_error (ld, n->mark, path, "\"%s\": %s port must be 1-65535", text, what);
      return false;
    case RANGE_REVERSED:
      diag_error (ld, n->mark, path,
                  "\"%s\": %s port range %s ends before it starts; write the lower port first",
                  text, what, range);
      return false;
    }
  return false;
}

static bool
ip_valid (const char *ip)
{
  unsigned char addr[16];
  return inet_pton (AF_INET, ip, addr) == 1 || inet_pton (AF_INET6, ip, addr) == 1;
}

/* compose-go orders the entries of a range by their "PORT/PROTO" text,
   so "9-10" gives 10 before 9; we keep its order. */
static int
port_text_cmp (const void *a, const void *b)
{
  char x[16], y[16];
  snprintf (x, sizeof x, "%ld", *(const long *)a);
  snprintf (y, sizeof y, "%ld", *(const long *)b);
  return strcmp (x, y);
}

static node_t *
port_entry (ld_t *ld, const node_t *n, const char *ip, long target, const char *published,
            const char *proto)
{
  node_t *m = node_new (ld->arena, N_MAP, n->mark);
  node_map_set (ld->arena, m, "mode", node_new_str (ld->arena, "ingress", n->mark));
  if (*ip)
    node_map_set (ld->arena, m, "host_ip", node_new_str (ld->arena, ip, n->mark));
  node_map_set (ld->arena, m, "target", node_new_int (ld->arena, target, n->mark));
  if (published)
    node_map_set (ld->arena, m, "published", node_new_str (ld->arena, published, n->mark));
  node_map_set (ld->arena, m, "protocol", node_new_str (ld->arena, proto, n->mark));
  return m;
}

bool
port_parse_short (ld_t *ld, const node_t *n, const char *path, node_t *out)
{
  const char *text = NULL, *ip = "", *host = NULL, *slash;
  char *spec, *last, *prev, *proto;
  long c_start, c_end, h_start = 0, h_end = 0, count, i;
  cleanup_free long *targets = NULL;
  enum range_status st;
  bool bracketed = false;

  if (n->kind == N_SCALAR || n->kind == N_STR || n->kind == N_INT || n->kind == N_FLOAT)
    text = node_text (ld->arena, n);
  if (text == NULL
      || (n->kind == N_SCALAR && (scalar_resolve (n) == N_NULL || scalar_resolve (n) == N_BOOL)))
    {
      diag_error (ld, n->mark, path,
                  "a port must be a string such as \"8080:80\", a number or a mapping, not %s",
                  node_kind_name (n));
      return false;
    }

  /* HOST_IP may itself hold colons (IPv6): the last two fields are the ports. */
  spec = arena_strdup (ld->arena, text);
  last = strrchr (spec, ':');
  if (last)
    {
      *last++ = '\0';
      prev = strrchr (spec, ':');
      if (prev)
        {
          *prev++ = '\0';
          ip = spec;
          host = prev;
        }
      else
        host = spec;
    }
  else
    last = spec;

  /* CONTAINER_PORT[-END][/PROTOCOL] */
  proto = "tcp";
  if ((slash = strchr (last, '/')) != NULL)
    {
      char *p;
      last[slash - last] = '\0';
      proto = arena_strdup (ld->arena, slash + 1);
      for (p = proto; *p; p++)
        *p = (char)tolower ((unsigned char)*p);
      if (*proto == '\0')
        proto = "tcp";
    }
  if (*last == '\0')
    {
      diag_error (ld, n->mark, path, "\"%s\": no container port; " PORT_SYNTAX, text);
      return false;
    }
  if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0 && strcmp (proto, "sctp") != 0)
    {
      diag_error (ld, n->mark, path, "\"%s\": unknown protocol \"%s\"; use tcp, udp or sctp", text,
                  slash + 1);
      return false;
    }

  if (*ip == '[')
    {
      size_t len = strlen (ip);
      if (len < 2 || ip[len - 1] != ']')
        {
          diag_error (ld, n->mark, path,
                      "\"%s\": host IP \"%s\" lacks its closing \"]\"; write IPv6 addresses as "
                      "\"[::1]:8080:80\"",
                      text, ip);
          return false;
        }
      ip = arena_strndup (ld->arena, ip + 1, len - 2);
      bracketed = true; /* "[]" is a typo, not "no address" */
    }
  if ((*ip || bracketed) && !ip_valid (ip))
    {
      diag_error (ld, n->mark, path,
                  "\"%s\": host IP \"%s\" is not an IP address; write e.g. \"127.0.0.1:8080:80\" "
                  "or \"[::1]:8080:80\"",
                  text, ip);
      return false;
    }

  st = port_range (last, 1, &c_start, &c_end);
  if (!port_range_check (ld, n, path, text, "container", st, last))
    return false;

  /* An empty HOST_PORT ("127.0.0.1::80") leaves the choice to the engine,
     and so does 0: both mean "any free port". */
  if (host && *host == '\0')
    host = NULL;
  if (host)
    {
      st = port_range (host, strcmp (host, "0") == 0 ? 0 : 1, &h_start, &h_end);
      if (!port_range_check (ld, n, path, text, "host", st, host))
        return false;
      /* A host range with one container port is a pool to pick from. */
      if (c_end - c_start != h_end - h_start && c_end != c_start)
        {
          diag_error (ld, n->mark, path,
                      "\"%s\": %ld host %s (%s) for %ld container ports (%s); give both "
                      "ranges the same length, or map a single container port",
                      text, h_end - h_start + 1, h_end == h_start ? "port" : "ports", host,
                      c_end - c_start + 1, last);
          return false;
        }
    }

  count = c_end - c_start + 1;
  targets = xmalloc ((size_t)count * sizeof *targets);
  for (i = 0; i < count; i++)
    targets[i] = c_start + i;
  qsort (targets, (size_t)count, sizeof *targets, port_text_cmp);
  for (i = 0; i < count; i++)
    {
      const char *published = NULL;
      long k = targets[i] - c_start;
      if (host && count == 1 && h_start != h_end)
        published = arena_printf (ld->arena, "%ld-%ld", h_start, h_end);
      else if (host)
        published = arena_printf (ld->arena, "%ld", h_start + k);
      node_seq_push (ld->arena, out, port_entry (ld, n, ip, targets[i], published, proto));
    }
  return true;
}

/* ------------------------------------------------------------------ */
/* Volumes: compose-go's format.ParseVolume                            */
/* ------------------------------------------------------------------ */

#define VOLUME_SYNTAX "write SOURCE:TARGET[:OPTIONS], e.g. \"./data:/data:ro\""

struct volume_spec
{
  const char *source, *target, *options;
};

/* compose-go keeps "C:" together: a one-letter field before a colon is a
   Windows drive, not a volume name. */
static bool
windows_drive (const char *field, size_t len, char c)
{
  return c == ':' && len == 1 && isalpha ((unsigned char)field[0]);
}

/* Split at colons, except those of a drive letter or inside ${...}.
   Returns NULL on success, else why it failed. */
static const char *
volume_split (arena_t *a, const char *spec, struct volume_spec *v)
{
  size_t len = strlen (spec), i, start = 0;
  int in_var = 0;

  if (len <= 2)
    {
      v->target = spec;
      return NULL;
    }
  for (i = 0; i <= len; i++)
    {
      char c = spec[i];
      const char *field;

      if (c == '$' && spec[i + 1] == '{')
        in_var++;
      else if (c == '}' && in_var > 0)
        in_var--;
      if (!(c == ':' || c == '\0') || windows_drive (spec + start, i - start, c)
          || (in_var > 0 && c == ':'))
        continue;
      if (i == start)
        return "empty part between colons";
      field = arena_strndup (a, spec + start, i - start);
      start = i + 1;
      if (v->source == NULL && c == '\0')
        v->target = field; /* anonymous volume */
      else if (v->source == NULL)
        v->source = field;
      else if (v->target == NULL)
        v->target = field;
      else if (c == ':')
        return "too many colons";
      else
        v->options = field;
    }
  return NULL;
}

static bool
is_host_path (const char *src)
{
  if (src[0] == '.' || src[0] == '/' || src[0] == '~')
    return true;
  if (src[0] == '\\' && src[1] == '\\')
    return true; /* a Windows named pipe */
  return src[0] != '\0' && windows_drive (src, 1, src[1]);
}

static bool
volume_name_valid (const char *s)
{
  if (!isalnum ((unsigned char)*s))
    return false;
  for (s++; *s; s++)
    if (!(isalnum ((unsigned char)*s) || *s == '_' || *s == '.' || *s == '-'))
      return false;
  return true;
}

static const char *const propagations[] = {
  "shared", "slave", "private", "rshared", "rslave", "rprivate",
};
/* Docker Desktop's old macOS hints: accepted and dropped, as compose-go does. */
static const char *const consistencies[] = { "cached", "delegated", "consistent" };

static bool
word_in (const char *w, const char *const *list, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (strcmp (w, list[i]) == 0)
      return true;
  return false;
}

node_t *
volume_parse_short (ld_t *ld, const node_t *n, const char *path)
{
  arena_t *a = ld->arena;
  struct volume_spec v = { 0 };
  const char *text = NULL, *why, *propagation = NULL, *selinux = NULL;
  bool bind, read_only = false, nocopy = false;
  node_t *m, *sub;

  if (n->kind == N_SCALAR || n->kind == N_STR)
    text = n->str;
  if (text == NULL)
    {
      diag_error (ld, n->mark, path,
                  "a volume must be a string such as \"./data:/data\" or a mapping, not %s",
                  node_kind_name (n));
      return NULL;
    }
  if (*text == '\0')
    {
      diag_error (ld, n->mark, path, "empty volume; " VOLUME_SYNTAX);
      return NULL;
    }
  if ((why = volume_split (a, text, &v)) != NULL)
    {
      diag_error (ld, n->mark, path, "\"%s\": %s; " VOLUME_SYNTAX, text, why);
      return NULL;
    }

  if (v.options)
    {
      cleanup_free char *opts = xstrdup (v.options);
      char *save = NULL, *o;
      /* strtok_r skips empty words; the check below catches ",," */
      if (strstr (v.options, ",,") || *v.options == ',' || v.options[strlen (v.options) - 1] == ',')
        {
          diag_error (ld, n->mark, path, "\"%s\": empty option between commas; " VOLUME_SYNTAX,
                      text);
          return NULL;
        }
      for (o = strtok_r (opts, ",", &save); o; o = strtok_r (NULL, ",", &save))
        {
          if (strcmp (o, "ro") == 0 || strcmp (o, "rw") == 0)
            read_only = strcmp (o, "ro") == 0; /* the last one wins */
          else if (strcmp (o, "nocopy") == 0)
            nocopy = true;
          else if (strcmp (o, "z") == 0 || strcmp (o, "Z") == 0)
            selinux = arena_strdup (a, o);
          else if (word_in (o, propagations, ARRAY_SIZE (propagations)))
            propagation = arena_strdup (a, o);
          else if (!word_in (o, consistencies, ARRAY_SIZE (consistencies)))
            {
              diag_error (ld, n->mark, path,
                          "\"%s\": unknown option \"%s\"; use ro, rw, z, Z, nocopy or a "
                          "propagation (shared, slave, private, rshared, rslave, rprivate)",
                          text, o);
              return NULL;
            }
        }
    }

  if (v.target[0] != '/')
    {
      diag_error (ld, n->mark, path,
                  "\"%s\": the target \"%s\" must be an absolute path in the container, e.g. "
                  "\"/data\"",
                  text, v.target);
      return NULL;
    }
  bind = v.source && is_host_path (v.source);
  if (v.source && !bind && !volume_name_valid (v.source))
    {
      diag_error (ld, n->mark, path,
                  "\"%s\": \"%s\" is neither a host path nor a volume name; start host paths with "
                  "/, ./ or ~/, and name volumes with letters, digits, _, . and -",
                  text, v.source);
      return NULL;
    }
  if (bind && nocopy)
    {
      diag_error (ld, n->mark, path,
                  "\"%s\": nocopy applies to named volumes, not to bind mounts; remove it", text);
      return NULL;
    }

  m = node_new (a, N_MAP, n->mark);
  node_map_set (a, m, "type", node_new_str (a, bind ? "bind" : "volume", n->mark));
  if (v.source)
    {
      const char *src = v.source;
      /* Windows paths stay as written, as compose-go keeps them. */
      if (bind && (src[0] == '.' || src[0] == '~'))
        src = path_resolve (ld, node_base_dir (ld, n), src);
      node_map_set (a, m, "source", node_new_str (a, src, n->mark));
    }
  node_map_set (a, m, "target", node_new_str (a, v.target, n->mark));
  if (read_only)
    node_map_set (a, m, "read_only", node_new_bool (a, true, n->mark));
  /* Short binds create a missing host directory, as docker-compose v1 did. */
  if (bind || propagation || selinux)
    {
      sub = node_new (a, N_MAP, n->mark);
      if (bind)
        node_map_set (a, sub, "create_host_path", node_new_bool (a, true, n->mark));
      if (propagation)
        node_map_set (a, sub, "propagation", node_new_str (a, propagation, n->mark));
      if (selinux)
        node_map_set (a, sub, "selinux", node_new_str (a, selinux, n->mark));
      node_map_set (a, m, "bind", sub);
    }
  if (!bind)
    {
      sub = node_new (a, N_MAP, n->mark);
      if (nocopy)
        node_map_set (a, sub, "nocopy", node_new_bool (a, true, n->mark));
      node_map_set (a, m, "volume", sub);
    }
  return m;
}

/* ------------------------------------------------------------------ */
/* Commands: go-shellwords' Parse, as compose-go calls it               */
/* ------------------------------------------------------------------ */

#define SHELL_HINT "write the command as a list, or as [\"sh\", \"-c\", \"...\"] to use a shell"

static bool
is_shell_space (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
push_word (ld_t *ld, node_t *seq, strbuf_t *w, const node_t *n)
{
  node_seq_push (ld->arena, seq, node_new_str (ld->arena, w->s ? w->s : "", n->mark));
  w->len = 0;
  if (w->s)
    w->s[0] = '\0';
}

/* go-shellwords v1.0.12 (compose-go's pin) without its options: spaces,
   tabs and newlines split words; '...' is literal; "..." and bare words
   take backslash escapes; `...` and $(...) stay as written, spaces and
   all, since no shell runs them. */
node_t *
shell_split (ld_t *ld, const node_t *n, const char *path)
{
  strbuf_t w = { 0 };
  const char *text = NULL, *p, *err = NULL;
  bool escaped = false, sq = false, dq = false, bq = false, dollar = false, word = false;
  node_t *seq;

  if (n->kind == N_SCALAR || n->kind == N_STR || n->kind == N_INT || n->kind == N_FLOAT)
    text = node_text (ld->arena, n);
  if (text == NULL)
    {
      diag_error (ld, n->mark, path, "a command must be a string or a list of strings, not %s",
                  node_kind_name (n));
      return NULL;
    }

  seq = node_new (ld->arena, N_SEQ, n->mark);
  for (p = text; *p && err == NULL; p++)
    {
      char c = *p;

      if (escaped)
        {
          sb_putc (&w, c);
          escaped = false;
          word = true;
          continue;
        }
      if (c == '\\' && !sq)
        {
          escaped = true;
          continue;
        }
      if (is_shell_space (c) && !(sq || dq || bq || dollar))
        {
          if (word)
            push_word (ld, seq, &w, n);
          word = false;
          continue;
        }
      if (!(sq || dq))
        switch (c)
          {
          case '`':
            if (!dollar)
              bq = !bq;
            break;
          case '(':
            if (bq)
              break;
            if (dollar || w.len == 0 || w.s[w.len - 1] != '$')
              err = "\"(\" outside quotes is shell syntax, but the command runs without a shell; "
                    "quote it, or " SHELL_HINT;
            dollar = true;
            break;
          case ')':
            if (bq)
              break;
            if (!dollar)
              err = "\")\" without \"$(\"; quote it, or " SHELL_HINT;
            dollar = false;
            break;
          case ';':
          case '&':
          case '|':
          case '<':
          case '>':
            /* go-shellwords silently drops everything from here on; say so instead */
            if (!(bq || dollar))
              {
                size_t k = strspn (p, ";&|<>");
                err = arena_printf (ld->arena,
                                    "\"%.*s\" is shell syntax, but the command runs without a "
                                    "shell; quote it, or " SHELL_HINT,
                                    (int)k, p);
              }
            break;
          }
      if (err)
        break;
      if (c == '"' && !sq && !dollar)
        {
          dq = !dq;
          word = true; /* "" is an empty word */
          continue;
        }
      if (c == '\'' && !dq && !dollar)
        {
          sq = !sq;
          word = true;
          continue;
        }
      sb_putc (&w, c);
      word = true;
    }

  if (err == NULL && word)
    push_word (ld, seq, &w, n);
  sb_free (&w);
  if (err == NULL)
    {
      if (sq)
        err = "unterminated single quote; add the closing ', or " SHELL_HINT;
      else if (dq)
        err = "unterminated double quote; add the closing \", or " SHELL_HINT;
      else if (bq)
        err = "unterminated backtick; add the closing `";
      else if (dollar)
        err = "unterminated \"$(\"; add the closing \")\"";
      else if (escaped)
        err = "ends with a lone backslash; remove it, or write \\\\ for a backslash";
    }
  if (err)
    {
      diag_error (ld, n->mark, path, "\"%s\": %s", text, err);
      return NULL;
    }
  return seq;
}
